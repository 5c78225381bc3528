"""Reading, validating and writing rulebook files (YAML, CSV, XLSX)."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from knowledge.files import InputError
from knowledge.matcher import Matcher, Outcome
from knowledge.rulebook import IndicatorType, Level
from knowledge.rulebook_files import parse_rulebook_header, parse_rulebook_text, read_rulebook
from knowledge.rulebook_writers import rulebook_to_xlsx, rulebook_to_yaml, write_rulebook
from knowledge.synonyms import OfficeSynonym, with_synonyms
from tests.conftest import SAMPLE_RULEBOOK

MINIMAL = """\
title: 测试细则
year: 2026
indicators:
  - code: A-01
    name: 税收收入完成率
    type: 定量指标
    points: 10
  - code: A-02
    name: 信访投诉
    type: deduction
    points: 0.5
    cap: 5
    cycle: 季度
"""

HEADERS = [
    "编码",
    "名称",
    "类型",
    "类别",
    "分值",
    "上限",
    "责任部门",
    "考核周期",
    "评分标准",
    "别名",
    "绩效办解读",
    "股室解读",
    "派出机构解读",
]
ROW_1 = [
    "DL-01",
    "税收收入完成率",
    "定量指标",
    "组织收入",
    "10",
    "",
    "收入核算股",
    "月",
    "每低1个百分点扣0.5分",
    "收入完成率、组织收入任务",
    "看序时进度",
    "按金税数据",
    "每月盯进度",
]
ROW_2 = [
    "KF-02",
    "信访投诉",
    "减分项",
    "纳税服务",
    "0.5",
    "5",
    "纳税服务股",
    "月",
    "有效投诉每件扣0.5分",
    "投诉；有效投诉",
    "",
    "",
    "",
]


def problems_of(path: Path) -> list[str]:
    with pytest.raises(InputError) as caught:
        read_rulebook(path)
    return [str(p) for p in caught.value.problems]


def test_sample_rulebook_has_the_articles_shape() -> None:
    rulebook = read_rulebook(SAMPLE_RULEBOOK)
    kinds = Counter(i.type for i in rulebook.indicators)
    assert kinds[IndicatorType.QUANTITATIVE] == 12
    assert kinds[IndicatorType.BONUS] + kinds[IndicatorType.DEDUCTION] == 36
    assert len({i.code for i in rulebook.indicators}) == 48
    for item in rulebook.indicators:
        assert item.standard, item.code
        assert 1 <= len(item.aliases) <= 4, item.code
        assert [i.level for i in item.interpretations] == list(Level), item.code
        assert 1 <= len(item.faq) <= 3, item.code
    assert rulebook.scoring is not None
    assert rulebook.scoring["base"] == 100


def test_yaml_values_are_exact_and_spellings_normalised(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    rulebook = read_rulebook(path)
    second = rulebook.indicators[1]
    assert second.type is IndicatorType.DEDUCTION
    assert second.points == Decimal("0.5")
    assert isinstance(second.points, Decimal)
    assert second.cap == Decimal(5)
    assert second.cycle is not None
    assert second.cycle.value == "季"
    assert rulebook.indicators[0].interpretations == ()


def test_rulebook_without_interpretations_loads_and_matches(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    matcher = Matcher(read_rulebook(path).indicators)
    result = matcher.match_question("收入完成率怎么算")
    assert result.status is Outcome.ANSWER
    assert result.best is not None
    assert result.best.code == "A-01"


def test_yaml_round_trip_is_lossless(tmp_path: Path) -> None:
    original = read_rulebook(SAMPLE_RULEBOOK)
    out = tmp_path / "out.yaml"
    write_rulebook(original, out)
    assert read_rulebook(out) == original


def test_xlsx_round_trip_is_lossless(tmp_path: Path) -> None:
    original = read_rulebook(SAMPLE_RULEBOOK)
    out = tmp_path / "out.xlsx"
    write_rulebook(original, out)
    assert read_rulebook(out) == original


def test_unknown_top_level_keys_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(MINIMAL + "publisher: 区绩效办\nnotes: [a, b]\n", encoding="utf-8")
    rulebook = read_rulebook(path)
    assert rulebook.extra == {"publisher": "区绩效办", "notes": ["a", "b"]}
    out = tmp_path / "again.yaml"
    write_rulebook(rulebook, out)
    assert read_rulebook(out).extra == rulebook.extra


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_in_every_common_encoding_with_faq_file(tmp_path: Path, encoding: str) -> None:
    rows = [HEADERS, ROW_1, ROW_2]
    text = "\n".join(",".join(f'"{c}"' for c in row) for row in rows) + "\n"
    (tmp_path / "细则.csv").write_bytes(text.encode(encoding))
    faq = "编码,问题,答案\nKF-02,投诉不属实扣分吗,不扣分\n"
    (tmp_path / "细则_faq.csv").write_bytes(faq.encode(encoding))
    rulebook = read_rulebook(tmp_path / "细则.csv")
    first, second = rulebook.indicators
    assert first.aliases == ("收入完成率", "组织收入任务")
    assert second.aliases == ("投诉", "有效投诉")
    assert first.interpretation(Level.SECTION) == "按金税数据"
    assert second.interpretations == ()
    assert second.faq[0].a == "不扣分"
    assert second.cap == Decimal(5)


def test_xlsx_with_shuffled_and_extra_columns(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = "指标"
    order = [12, 0, 99, 4, 1, 2, 9]  # 99: an extra column nobody asked for
    sheet.append([HEADERS[i] if i != 99 else "备注" for i in order])
    sheet.append([ROW_1[i] if i != 99 else "随便写写" for i in order])
    sheet.append([ROW_2[i] if i != 99 else "" for i in order])
    faq = book.create_sheet("问答")
    faq.append(["答案", "编码", "问题"])
    faq.append(["按序时进度", "DL-01", "完成率怎么算"])
    path = tmp_path / "r.xlsx"
    book.save(path)
    rulebook = read_rulebook(path)
    assert [i.code for i in rulebook.indicators] == ["DL-01", "KF-02"]
    assert rulebook.indicators[0].points == Decimal(10)
    assert rulebook.indicators[0].interpretation(Level.BRANCH) == "每月盯进度"
    assert rulebook.indicators[0].faq[0].q == "完成率怎么算"


def test_all_problems_reported_at_once_with_lines_and_fields(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        """\
title: 坏细则
indicators:
  - code: A-01
    name: 一
    type: 定量指标
    points: 十分
  - code: A-01
    name: 二
    type: 加分项
    points: 1
  - code: A-03
    type: 奇怪项
    points: 1
    cycle: 每周
  - code: A-04
    name: 四
    type: 减分项
    points: 0.125
""",
        encoding="utf-8",
    )
    problems = problems_of(path)
    assert problems == [
        "bad.yaml 第6行 字段“points”：分值“十分”不是有效数字",
        "bad.yaml 第7行 字段“code”：编码“A-01”与第3行编码相同但内容不同，无法判断以哪一行为准",
        "bad.yaml 第11行 字段“name”：必填字段缺失",
        "bad.yaml 第12行 字段“type”：未知类型“奇怪项”（应为 定量指标、加分项 或 减分项）",
        "bad.yaml 第14行 字段“cycle”：未知考核周期“每周”（应为 日、月、季、半年 或 年）",
        "bad.yaml 第18行 字段“points”：分值“0.125”超过两位小数",
    ]


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("title: x\nindicators:\n  - code: A\n    name: [unclosed\n", encoding="utf-8")
    (problem,) = problems_of(path)
    assert problem.startswith("broken.yaml 第")
    assert "YAML 格式错误" in problem


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "empty.yaml：文件为空"),
        (b"# only a comment\n", "empty.yaml：文件为空"),
        (b"title: x\n", "empty.yaml 字段“indicators”：缺少 indicators 列表"),
        (b"title: x\nindicators: []\n", "empty.yaml：没有任何指标"),
        (b"- just\n- a list\n", "empty.yaml 第1行：顶层应为键值对（title、year、indicators …）"),
    ],
)
def test_empty_and_shapeless_files(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "empty.yaml"
    path.write_bytes(content)
    assert problems_of(path) == [expected]


def test_csv_missing_required_column(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("编码,名称,分值\nA,一,1\n", encoding="utf-8")
    assert problems_of(path) == ["r.csv 第1行 字段“type”：缺少必需的列"]


def test_csv_row_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        "编码,名称,类型,分值\nA,一,加分项,1\nB,二,加分项,-3\n,三,加分项,1\n", encoding="utf-8"
    )
    assert problems_of(path) == [
        "r.csv 第3行 字段“points”：分值“-3”不能为负数",
        "r.csv 第4行 字段“code”：必填字段缺失",
    ]


def test_faq_for_unknown_code_is_refused(tmp_path: Path) -> None:
    (tmp_path / "r.csv").write_text("编码,名称,类型,分值\nA,一,加分项,1\n", encoding="utf-8")
    (tmp_path / "r_faq.csv").write_text("编码,问题,答案\nZ,问,答\n", encoding="utf-8")
    assert problems_of(tmp_path / "r.csv") == ["r_faq.csv 第2行 字段“code”：未知指标编码“Z”"]


def test_undecodable_and_unsupported_files(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(b"\x80\x81\xff\xfe\x00garbage" * 3)
    assert "无法识别文件编码" in problems_of(path)[0]
    other = tmp_path / "r.docx"
    other.write_bytes(b"x")
    assert problems_of(other) == [
        "r.docx：不支持的文件类型“.docx”（支持 .yaml、.yml、.csv、.xlsx）"
    ]
    fake = tmp_path / "fake.xlsx"
    fake.write_bytes(b"not a zip")
    assert "不是有效的 XLSX 文件" in problems_of(fake)[0]


def test_exported_xlsx_has_the_contract_headers() -> None:
    data = rulebook_to_xlsx(read_rulebook(SAMPLE_RULEBOOK))
    import io

    book = load_workbook(io.BytesIO(data), read_only=True)
    header = next(book["指标"].iter_rows(values_only=True))
    assert list(header) == HEADERS
    assert next(book["问答"].iter_rows(values_only=True)) == ("编码", "问题", "答案")


def test_xlsx_formula_floats_read_as_what_excel_shows(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["编码", "名称", "类型", "分值", "上限"])
    sheet.append(["JF-09", "党建工作品牌创建", "加分项", 0.1 + 0.2, 3.0])
    path = tmp_path / "floats.xlsx"
    book.save(path)
    (indicator,) = read_rulebook(path).indicators
    assert indicator.points == Decimal("0.3")
    assert indicator.cap == Decimal(3)


def test_stored_header_reads_like_the_whole_document() -> None:
    rulebook = with_synonyms(read_rulebook(SAMPLE_RULEBOOK), [OfficeSynonym("排队", "等候时长")])
    text = rulebook_to_yaml(rulebook)
    header = parse_rulebook_header(text, source="v.yaml")
    whole = parse_rulebook_text(text, source="v.yaml")
    assert (header.title, header.year, header.scoring, header.extra) == (
        whole.title,
        whole.year,
        whole.scoring,
        whole.extra,
    )
    assert header.indicators == ()
