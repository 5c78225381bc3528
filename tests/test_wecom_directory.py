"""Reading a WeCom directory export to bind many users at once."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from bot.wecom.directory import DirectoryEntry, read_directory
from db.roles import Role
from knowledge.files import InputError

UNITS = ["GS01", "GS06", "PC02"]


def test_csv_with_chinese_headers_binds_each_member_once() -> None:
    data = (
        "姓名,帐号,单位,角色\n"
        "张三,ZhangSan,gs06,干部职工\n"
        "李四,lisi,GS06,绩效联络员\n"
        "王五,wangwu@bureau,,绩效办\n"
        "张三,zhangsan,GS06,staff\n"
    ).encode("gbk")
    directory = read_directory(data, "members.csv", UNITS)
    assert directory.entries == [
        DirectoryEntry("zhangsan", Role.STAFF, "GS06", 2),
        DirectoryEntry("lisi", Role.LIAISON, "GS06", 3),
        DirectoryEntry("wangwu@bureau", Role.ADMIN, None, 4),
    ]
    assert directory.repeated == 1


def test_xlsx_with_english_headers() -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["unit", "role", "userid", "name"])
    sheet.append(["PC02", "liaison", "zhaoliu", "赵六"])
    buffer = io.BytesIO()
    book.save(buffer)
    directory = read_directory(buffer.getvalue(), "members.xlsx", UNITS)
    assert directory.entries == [DirectoryEntry("zhaoliu", Role.LIAISON, "PC02", 2)]


def test_every_problem_is_reported_by_line_and_field() -> None:
    data = (
        "userid,姓名,unit,role\n"
        ",甲,GS01,staff\n"
        "-bad,乙,GS01,staff\n"
        "ok1,丙,GS99,staff\n"
        "ok2,丁,,liaison\n"
        "ok3,戊,GS01,boss\n"
        "ok4,己,GS01,staff\n"
        "OK4,庚,GS06,staff\n"
    ).encode()
    with pytest.raises(InputError) as refused:
        read_directory(data, "members.csv", UNITS)
    assert [str(p) for p in refused.value.problems] == [
        "members.csv 第2行 字段“userid”：不能为空",
        "members.csv 第3行 字段“userid”：企业微信账号只能由字母、数字和 _-@. 组成，"
        "以字母或数字开头，最长 64 个字符",
        "members.csv 第4行 字段“unit”：没有编码为 GS99 的单位",
        "members.csv 第5行 字段“unit”：职工和联络员必须填写单位编码",
        "members.csv 第6行 字段“role”："
        "角色应为 staff、liaison、admin（或 干部职工、绩效联络员、绩效办）",
        "members.csv 第8行 字段“userid”：与第7行的同一账号角色或单位不同，请只保留一行",
    ]
    assert not any("甲" in str(p) or "庚" in str(p) for p in refused.value.problems)


def test_missing_columns_and_other_formats_are_refused() -> None:
    with pytest.raises(InputError, match="缺少必需的列"):
        read_directory("姓名,userid\n张三,zs\n".encode(), "m.csv", UNITS)
    with pytest.raises(InputError, match="只支持 CSV 或 XLSX"):
        read_directory(b"userid: zs", "m.yaml", UNITS)
