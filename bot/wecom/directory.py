"""Binding many WeCom users at once from the enterprise directory (``kpibot users import``).

WeCom knows who each member is (their userid, 帐号), so the office need not hand out one
invite code per person: a CSV or XLSX with the columns userid, 姓名, unit and role binds them
all. The name column is accepted because directory exports carry it, but it is never read
into kpibot: a userid is all a binding needs, and names are personal.

A file with any bad row is refused whole, with every problem by line and field; the same
userid twice with the same unit and role is counted and skipped, twice with different ones is
a conflict naming both lines.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session

from db import users_store
from db.roles import Role
from knowledge.files import (
    InputError,
    Problem,
    Table,
    read_csv_table,
    read_xlsx_tables,
    suffix_of,
)

CHANNEL = "wecom"
COLUMNS = {
    "userid": ("UserID", "user_id", "帐号", "账号", "成员帐号", "成员账号", "企业微信账号"),
    "name": ("姓名", "名字", "成员姓名"),
    "unit": ("单位", "单位编码", "unit_code"),
    "role": ("角色", "身份"),
}
REQUIRED = ("userid", "unit", "role")
ROLES = {
    "staff": Role.STAFF,
    "干部职工": Role.STAFF,
    "职工": Role.STAFF,
    "员工": Role.STAFF,
    "liaison": Role.LIAISON,
    "绩效联络员": Role.LIAISON,
    "联络员": Role.LIAISON,
    "admin": Role.ADMIN,
    "绩效办": Role.ADMIN,
    "管理员": Role.ADMIN,
}
# WeCom: 1-64 bytes of digits, letters and _-@. starting with a digit or letter.
_USERID = re.compile(r"[0-9A-Za-z][0-9A-Za-z_\-@.]{0,63}")


def wecom_external_id(user_id: str) -> str:
    """How kpibot keys a WeCom user: the userid in lower case (WeCom ignores its case)."""
    return user_id.strip().lower()


@dataclass(frozen=True)
class DirectoryEntry:
    """One member to bind: userid (as kpibot keys it), role and unit."""

    user_id: str
    role: Role
    unit_code: str | None
    line: int


@dataclass(frozen=True)
class Directory:
    """The members of a file, and how many repeated rows were skipped."""

    entries: list[DirectoryEntry]
    repeated: int


def _table(data: bytes, file: str) -> Table:
    if suffix_of(Path(file)) == "csv":
        return read_csv_table(data, file=file, columns=COLUMNS, required=REQUIRED)
    if suffix_of(Path(file)) == "xlsx":
        (table,) = read_xlsx_tables(
            data, file=file, sheets=[(("成员", "通讯录", "*"), COLUMNS, REQUIRED, True)]
        )
        assert table is not None
        return table
    raise InputError([Problem(file, "只支持 CSV 或 XLSX 文件")])


def _entry(
    table: Table, line: int, values: dict[str, str], units: dict[str, str]
) -> tuple[DirectoryEntry | None, list[Problem]]:
    problems: list[Problem] = []
    user_id = values.get("userid", "").strip()
    if not user_id:
        problems.append(table.problem("不能为空", line=line, field="userid"))
    elif not _USERID.fullmatch(user_id):
        problems.append(
            table.problem(
                "企业微信账号只能由字母、数字和 _-@. 组成，以字母或数字开头，最长 64 个字符",
                line=line,
                field="userid",
            )
        )
    role = ROLES.get(values.get("role", "").strip().lower())
    if role is None:
        problems.append(
            table.problem(
                "角色应为 staff、liaison、admin（或 干部职工、绩效联络员、绩效办）",
                line=line,
                field="role",
            )
        )
    unit_text = values.get("unit", "").strip()
    unit: str | None = None
    if role is not Role.ADMIN:
        unit = units.get(unit_text.upper())
        if not unit_text:
            problems.append(table.problem("职工和联络员必须填写单位编码", line=line, field="unit"))
        elif unit is None:
            problems.append(
                table.problem(f"没有编码为 {unit_text} 的单位", line=line, field="unit")
            )
    if problems or role is None:
        return None, problems
    return DirectoryEntry(wecom_external_id(user_id), role, unit, line), []


def read_directory(data: bytes, file: str, units: Collection[str]) -> Directory:
    """The members listed in a directory file; :class:`InputError` with every problem."""
    table = _table(data, file)
    known = {code.upper(): code for code in units}
    problems: list[Problem] = []
    first: dict[str, DirectoryEntry] = {}
    repeated = 0
    for row in table.rows:
        entry, found = _entry(table, row.line, dict(row.values), known)
        problems.extend(found)
        if entry is None:
            continue
        earlier = first.get(entry.user_id)
        if earlier is None:
            first[entry.user_id] = entry
        elif (earlier.role, earlier.unit_code) == (entry.role, entry.unit_code):
            repeated += 1
        else:
            problems.append(
                table.problem(
                    f"与第{earlier.line}行的同一账号角色或单位不同，请只保留一行",
                    line=entry.line,
                    field="userid",
                )
            )
    if not table.rows:
        problems.append(table.problem("没有成员数据"))
    if problems:
        raise InputError(problems)
    return Directory(list(first.values()), repeated)


@dataclass(frozen=True)
class BindSummary:
    """What binding a directory changed."""

    new: int
    changed: int
    unchanged: int


def bind_directory(*, session: Session, entries: Sequence[DirectoryEntry]) -> BindSummary:
    """Bind every member on the WeCom channel (one transaction: all or nothing)."""
    new = changed = unchanged = 0
    for entry in entries:
        user = users_store.find_user(session=session, channel=CHANNEL, external_id=entry.user_id)
        if user is not None and (user.role, user.unit_code) == (entry.role.value, entry.unit_code):
            unchanged += 1
            continue
        users_store.bind_user(
            session=session,
            channel=CHANNEL,
            external_id=entry.user_id,
            role=entry.role,
            unit_code=entry.unit_code,
        )
        if user is None:
            new += 1
        else:
            changed += 1
    return BindSummary(new, changed, unchanged)
