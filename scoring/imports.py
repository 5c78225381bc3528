"""Reading units, ledger and review files (CSV or XLSX, Chinese or English headers).

Parsing checks every row and collects every problem (file, line, field) before refusing
the file as a whole; nothing here touches the database. Columns are keyed by their
Chinese names so that problems name the field the way the office writes it.
"""

from __future__ import annotations

import gc
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Generic, TypeVar

from db.scoring_store import NewEntry, NewReview, UnitInfo
from knowledge.files import (
    MAX_FILE_BYTES,
    MAX_INPUT_BYTES,
    InputError,
    Problem,
    Problems,
    Table,
    bounded,
    read_bytes,
    read_csv_table,
    read_xlsx_tables,
    suffix_of,
)
from knowledge.numbers import NumberError, number_of, parse_points, parse_whole
from knowledge.points import cents_of
from knowledge.rulebook_files import CODE_PATTERN

T = TypeVar("T")

# Canonical column names (Chinese) and the other spellings accepted for them.
CODE, NAME, GROUP = "编码", "名称", "分组"
DATE, UNIT, INDICATOR, POINTS = "日期", "单位", "指标", "分值"
NOTE, SOURCE, ENTERED_BY, EXTERNAL_ID = "说明", "来源", "录入人", "编号"
YEAR, SCORE = "年度", "评议得分"

UNIT_COLUMNS: dict[str, tuple[str, ...]] = {
    CODE: ("code", "单位编码", "代码"),
    NAME: ("name", "单位名称"),
    GROUP: ("group", "组别", "分组名称"),
}
LEDGER_COLUMNS: dict[str, tuple[str, ...]] = {
    DATE: ("date", "发生日期", "记分日期"),
    UNIT: ("unit", "单位编码", "考核对象", "单位名称"),
    INDICATOR: ("indicator", "指标编码", "指标名称"),
    POINTS: ("points", "分数", "积分"),
    NOTE: ("note", "备注", "事由"),
    SOURCE: ("source",),
    ENTERED_BY: ("entered_by", "录入", "经办人"),
    EXTERNAL_ID: ("external_id", "外部编号", "流水号"),
}
REVIEW_COLUMNS: dict[str, tuple[str, ...]] = {
    YEAR: ("year", "年份"),
    UNIT: ("unit", "单位编码", "考核对象", "单位名称"),
    SCORE: ("score", "得分", "评议分"),
}
UNIT_SHEETS = ("*", "单位", "考核对象", "units")
LEDGER_SHEETS = ("*", "台账", "积分台账", "ledger")
REVIEW_SHEETS = ("*", "评议", "年终评议", "reviews")

MAX_UNIT_ROWS = 10_000
MAX_REVIEW_ROWS = 100_000
MAX_NOTE = 2000
MAX_SHORT = 100
MAX_SOURCE = 255
MIN_DATE = date(2000, 1, 1)

_DATE_PATTERN = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_MIDNIGHT = re.compile(r"^(.+?)[ T]00:00(:00(\.0+)?)?$")


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a large file is turned into rows.

    A million-row import allocates millions of small, acyclic objects; each automatic
    collection would walk all of them again, which more than doubles the parse time.
    Reference counting still frees everything; the previous state is restored after.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def lookup_key(text: str) -> str:
    """How codes and names are compared: NFKC, case-folded, without spaces."""
    return unicodedata.normalize("NFKC", text).casefold().replace(" ", "")


@dataclass(frozen=True)
class Lookup:
    """Resolves what people write (a code in any case, or an unambiguous name) to a code."""

    kind: str  # 单位 / 指标, for messages
    by_key: Mapping[str, str]
    ambiguous: frozenset[str]
    inactive: frozenset[str]

    @classmethod
    def build(
        cls, kind: str, items: Iterable[tuple[str, str]], inactive: Iterable[str] = ()
    ) -> Lookup:
        """A lookup over ``(code, name)`` pairs; codes win over names."""
        by_key: dict[str, str] = {}
        names: dict[str, set[str]] = {}
        pairs = list(items)
        for code, name in pairs:
            names.setdefault(lookup_key(name), set()).add(code)
        ambiguous = {key for key, codes in names.items() if len(codes) > 1}
        for key, codes in names.items():
            if key not in ambiguous:
                by_key[key] = next(iter(codes))
        for code, _name in pairs:
            by_key[lookup_key(code)] = code
        return cls(kind, by_key, frozenset(ambiguous - by_key.keys()), frozenset(inactive))

    def resolve(self, text: str) -> str:
        """The code ``text`` names; ``ValueError`` (in Chinese) if none or several."""
        key = lookup_key(text)
        code = self.by_key.get(key)
        if code is None:
            if key in self.ambiguous:
                raise ValueError(f"名称“{text}”对应多个{self.kind}，请改用编码")
            raise ValueError(f"未知{self.kind}“{text}”")
        if code in self.inactive:
            raise ValueError(f"{self.kind}“{code}”已停用，不能再记分")
        return code


def read_table(
    path: Path,
    *,
    columns: Mapping[str, Iterable[str]],
    required: Iterable[str],
    sheets: tuple[str, ...],
    limit: int = MAX_INPUT_BYTES,
) -> Table:
    """A CSV or XLSX file (first or named sheet) as a table with canonical columns."""
    data = read_bytes(path, limit=limit)
    kind = suffix_of(path)
    if kind in ("csv", "txt", "tsv"):
        return read_csv_table(data, file=path.name, columns=columns, required=required)
    if kind in ("xlsx", "xlsm"):
        (table,) = read_xlsx_tables(
            data, file=path.name, sheets=[(sheets, columns, tuple(required), True)]
        )
        assert table is not None
        return table
    raise InputError([Problem(path.name, f"不支持的文件类型“.{kind}”（请用 CSV 或 XLSX）")])


def parse_date(text: str) -> date:
    """A date written 2026-03-05, 2026/3/5, 2026.3.5, 2026年3月5日 or 20260305.

    Excel date cells arrive as ``2026-03-05 00:00:00`` and are accepted too.
    """
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    cleaned = unicodedata.normalize("NFKC", text).strip()
    midnight = _MIDNIGHT.match(cleaned)
    if midnight:
        cleaned = midnight.group(1)
    match = _DATE_PATTERN.match(cleaned) or _COMPACT_DATE.match(cleaned)
    if match is None:
        raise ValueError(f"“{text}”不是有效日期（应如 2026-03-05、2026/3/5 或 2026年3月5日）")
    year, month, day = (int(g) for g in match.groups())
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise ValueError(f"“{text}”不是有效日期（{month}月{day}日不存在）") from exc


# ---------------------------------------------------------------- units


@dataclass(frozen=True)
class UnitFile:
    """A parsed units file: its units, and rows that repeated an earlier row exactly."""

    units: list[UnitInfo]
    duplicates: int = 0


def parse_units(path: Path) -> UnitFile:
    """Units from a file (编码/code, 名称/name, 分组/group); refused whole on any problem.

    A row repeating an earlier one exactly is skipped and counted; the same code with
    another name or group is a conflict naming both lines.
    """
    table = read_table(path, columns=UNIT_COLUMNS, required=(CODE, NAME, GROUP), sheets=UNIT_SHEETS)
    problems = Problems()
    units: list[UnitInfo] = []
    first: dict[str, tuple[int, UnitInfo]] = {}
    duplicates = 0
    rows = 0
    for row in bounded(table, MAX_UNIT_ROWS):
        rows += 1
        before = len(problems)
        code, name, group = row.values[CODE], row.values[NAME], row.values[GROUP]
        if not code:
            problems.append(table.problem("编码为空", line=row.line, field=CODE))
        elif not CODE_PATTERN.match(code):
            problems.append(
                table.problem(
                    f"编码“{code}”格式不正确（字母、数字、-、_、.，最长 32 位）",
                    line=row.line,
                    field=CODE,
                )
            )
        for field, value, limit in ((NAME, name, 100), (GROUP, group, 50)):
            if not value:
                problems.append(table.problem(f"{field}为空", line=row.line, field=field))
            elif len(value) > limit:
                problems.append(
                    table.problem(f"{field}过长（最多 {limit} 字）", line=row.line, field=field)
                )
        if len(problems) > before:
            continue
        unit = UnitInfo(code=code, name=name, group=group)
        earlier = first.get(lookup_key(code))
        if earlier is None:
            first[lookup_key(code)] = (row.line, unit)
            units.append(unit)
        elif earlier[1] == unit:
            duplicates += 1
        else:
            message = f"编码“{code}”与第{earlier[0]}行编码相同但内容不同，无法判断以哪一行为准"
            problems.append(table.problem(message, line=row.line, field=CODE))
    if not rows:
        problems.append(table.problem("没有数据行"))
    if problems:
        raise InputError(problems)
    return UnitFile(units, duplicates)


# ---------------------------------------------------------------- ledger


@dataclass(frozen=True)
class LedgerFile:
    """A parsed ledger file: its entries in file order, their lines, and rows given twice."""

    file: str
    entries: list[NewEntry]
    lines: list[int]
    duplicates: int = 0  # rows repeating an earlier row's 编号 and content: skipped


def parse_ledger(
    path: Path,
    *,
    units: Lookup,
    indicators: Lookup,
    entered_by: str,
    today: date,
) -> LedgerFile:
    """Ledger entries from a file; refused whole on any problem.

    Columns: 日期/date, 单位/unit, 指标/indicator, 分值/points (required); 说明/note,
    来源/source, 录入人/entered_by, 编号/external_id (optional). The source defaults to
    the file name and the person to ``entered_by``.
    """
    table = read_table(
        path,
        columns=LEDGER_COLUMNS,
        required=(DATE, UNIT, INDICATOR, POINTS),
        sheets=LEDGER_SHEETS,
        limit=MAX_FILE_BYTES,
    )
    problems = Problems()
    entries: list[NewEntry] = []
    lines: list[int] = []
    duplicates = 0
    seen_ids: dict[str, tuple[int, NewEntry]] = {}
    file = path.name
    # Imports repeat the same few dates, codes and amounts: each spelling is checked once,
    # and so is each bad spelling (a file of two million bad rows repeats its mistakes).
    dates = _Checked(lambda raw: _entry_date(raw, today))
    amounts = _Checked(_entry_cents)
    unit_codes = _Checked(lambda raw: _required(raw, units, UNIT))
    indicator_codes = _Checked(lambda raw: _required(raw, indicators, INDICATOR))
    optional = [c for c in (NOTE, SOURCE, ENTERED_BY, EXTERNAL_ID) if c in table.columns]
    has_note, has_source = NOTE in optional, SOURCE in optional
    has_by, has_id = ENTERED_BY in optional, EXTERNAL_ID in optional

    def problem(message: str, line: int, field: str) -> None:
        if problems.full:  # a file of two million bad rows: count them, keep the first few
            problems.total += 1
        else:
            problems.append(table.problem(message, line=line, field=field))

    rows = 0
    for row in table.rows:
        rows += 1
        values = row.values
        line = row.line
        if problems.hopeless:
            problems.stopped_at = line
            break
        before = problems.total
        day = dates(values[DATE])
        unit_code = unit_codes(values[UNIT])
        indicator_code = indicator_codes(values[INDICATOR])
        cents = amounts(values[POINTS])
        for field, result in ((DATE, day), (UNIT, unit_code), (INDICATOR, indicator_code)):
            if result.__class__ is Refused:
                problem(str(result), line, field)
        if cents.__class__ is Refused:
            problem(str(cents), line, POINTS)
        note = values[NOTE] if has_note else ""
        source = (values[SOURCE] if has_source else "") or file
        who = (values[ENTERED_BY] if has_by else "") or entered_by
        external_id = (values[EXTERNAL_ID] if has_id else "") or None
        if len(note) > MAX_NOTE:
            problem(f"{NOTE}过长（最多 {MAX_NOTE} 字）", line, NOTE)
        if len(source) > MAX_SOURCE:
            problem(f"{SOURCE}过长（最多 {MAX_SOURCE} 字）", line, SOURCE)
        if len(who) > MAX_SHORT:
            problem(f"{ENTERED_BY}过长（最多 {MAX_SHORT} 字）", line, ENTERED_BY)
        if external_id is not None and len(external_id) > MAX_SHORT:
            problem(f"{EXTERNAL_ID}过长（最多 {MAX_SHORT} 字）", line, EXTERNAL_ID)
        if problems.total > before:
            continue
        assert isinstance(day, date)  # no new problem on this row: nothing was refused
        assert isinstance(cents, int)
        entry = NewEntry(day, unit_code, indicator_code, cents, who, note, source, external_id)
        if external_id is not None:
            earlier = seen_ids.get(external_id)
            if earlier is not None:
                if same_content(earlier[1], entry):
                    duplicates += 1  # the same row pasted twice: recorded once
                else:
                    problem(
                        f"编号“{external_id}”与第{earlier[0]}行编号相同但内容不同，"
                        "无法判断以哪一行为准",
                        line,
                        EXTERNAL_ID,
                    )
                continue
            seen_ids[external_id] = (line, entry)
        # once anything is wrong the file is refused: keep no entries, only look for problems
        if not problems:
            entries.append(entry)
            lines.append(line)
    if not rows:
        problems.append(table.problem("没有数据行"))
    if problems:
        raise InputError(problems)
    return LedgerFile(file=file, entries=entries, lines=lines, duplicates=duplicates)


def same_content(one: NewEntry, other: NewEntry) -> bool:
    """Whether two entries record the same thing (who typed it and from where aside)."""
    return one[:4] == other[:4] and one.note == other.note


class Refused(str):
    """Why a value was refused (a distinct type, so a cache can hold it next to results)."""

    __slots__ = ()


class _Checked(Generic[T]):
    """A check run once per distinct spelling; its refusals remembered like its results."""

    def __init__(self, check: Callable[[str], T]) -> None:
        self.check = check
        self.results: dict[str, T | Refused] = {}

    def __call__(self, raw: str) -> T | Refused:
        result = self.results.get(raw)
        if result is None:
            try:
                result = self.check(raw)
            except ValueError as exc:
                result = Refused(str(exc))
            self.results[raw] = result
        return result


def _entry_cents(text: str) -> int:
    """Ledger points as integer hundredths; ``ValueError`` naming the field when refused."""
    try:
        return cents_of(parse_points(text))
    except NumberError as exc:
        raise ValueError(f"{POINTS}{exc}") from exc


def _required(text: str, lookup: Lookup, field: str) -> str:
    """The code a required column names; ``ValueError`` when blank or unknown."""
    if not text:
        raise ValueError(f"{field}为空")
    return lookup.resolve(text)


def _entry_date(text: str, today: date) -> date:
    """A ledger date: valid, not in the future, not before 2000."""
    if not text:
        raise ValueError("日期为空")
    day = parse_date(text)
    if day > today:
        raise ValueError(f"日期 {day.isoformat()} 晚于今天，不能预先记分")
    if day < MIN_DATE:
        raise ValueError(f"日期 {day.isoformat()} 早于 2000 年")
    return day


def _resolve(
    text: str,
    lookup: Lookup,
    cache: dict[str, str],
    problem: Callable[[str, int, str], None],
    line: int,
    field: str,
) -> str | None:
    if not text:
        problem(f"{field}为空", line, field)
        return None
    code = cache.get(text)
    if code is not None:
        return code
    try:
        code = lookup.resolve(text)
    except ValueError as exc:
        problem(str(exc), line, field)
        return None
    cache[text] = code
    return code


# ---------------------------------------------------------------- reviews


@dataclass(frozen=True)
class ReviewFile:
    """A parsed reviews file: its scores, and rows that repeated an earlier row exactly."""

    reviews: list[NewReview]
    duplicates: int = 0


def parse_reviews(path: Path, *, units: Lookup, entered_by: str) -> ReviewFile:
    """Year-end review scores (年度/year, 单位/unit, 评议得分/score, 0-100)."""
    table = read_table(
        path, columns=REVIEW_COLUMNS, required=(YEAR, UNIT, SCORE), sheets=REVIEW_SHEETS
    )
    problems = Problems()
    reviews: list[NewReview] = []
    first_line: dict[tuple[int, str], tuple[int, int]] = {}
    duplicates = 0
    cache: dict[str, str] = {}

    def problem(message: str, line: int, field: str) -> None:
        problems.append(table.problem(message, line=line, field=field))

    for row in bounded(table, MAX_REVIEW_ROWS):
        before = len(problems)
        year: int | None = None
        raw_year = row.values[YEAR].strip().removesuffix("年度").removesuffix("年")
        try:
            year = parse_whole(raw_year, low=2000, high=2100)
        except NumberError as exc:
            problem(f"{YEAR}{exc}", row.line, YEAR)
        unit_code = _resolve(row.values[UNIT], units, cache, problem, row.line, UNIT)
        cents = 0
        try:
            score = number_of(row.values[SCORE])
            if not Decimal(0) <= score <= Decimal(100):
                raise NumberError(row.values[SCORE].strip(), "超出范围（应为 0–100）")
            cents = cents_of(score)
        except NumberError as exc:
            problem(f"{SCORE}{exc}", row.line, SCORE)
        if len(problems) > before or year is None or unit_code is None:
            continue
        key = (year, unit_code)
        earlier = first_line.get(key)
        if earlier is not None:
            if earlier[1] == cents:
                duplicates += 1  # the same row given twice: recorded once
            else:
                problem(
                    f"{year} 年度“{unit_code}”的评议与第{earlier[0]}行分数不同，"
                    "无法判断以哪一行为准",
                    row.line,
                    UNIT,
                )
            continue
        first_line[key] = (row.line, cents)
        reviews.append(
            NewReview(
                year=year,
                unit_code=unit_code,
                score_cents=cents,
                entered_by=entered_by,
                source=path.name,
            )
        )
    if not first_line and not problems:
        problems.append(table.problem("没有数据行"))
    if problems:
        raise InputError(problems)
    return ReviewFile(reviews, duplicates)
