"""Rulebook files: YAML (the contract), CSV (+ FAQ file) and XLSX; read and validate.

Writing them back is :mod:`knowledge.rulebook_writers`.

Reading collects every problem in the file before refusing it, each located by file, line
(or sheet row) and field, so a rulebook author fixes everything in one pass.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from knowledge.bounded_yaml import LINE, LINES, load_yaml, strip_lines
from knowledge.files import (
    MAX_INPUT_BYTES,
    InputError,
    Problem,
    Row,
    Table,
    bounded,
    decode_text,
    read_bytes,
    read_csv_table,
    read_xlsx_tables,
    suffix_of,
)
from knowledge.learned import LEARNED_COLUMNS, LEARNED_SHEETS, learned_from_table
from knowledge.learned import RULEBOOK_KEY as LEARNED_KEY
from knowledge.numbers import NumberError, parse_points, parse_whole
from knowledge.rulebook import (
    CYCLE_SPELLINGS,
    LEVEL_SPELLINGS,
    TYPE_SPELLINGS,
    Faq,
    Indicator,
    Interpretation,
    Level,
    Rulebook,
)
from knowledge.synonyms import RULEBOOK_KEY as SYNONYMS_KEY
from knowledge.synonyms import SYNONYM_COLUMNS, SYNONYM_SHEETS

MAX_RULEBOOK_BYTES = MAX_INPUT_BYTES
MAX_TABLE_ROWS = 10_000  # indicators or FAQ rows of a CSV/XLSX rulebook
CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,31}$")
ALIAS_SEPARATORS = re.compile(r"[、;；,，]")

INDICATOR_COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("编码", "指标编码", "代码"),
    "name": ("名称", "指标名称"),
    "type": ("类型", "指标类型"),
    "category": ("类别", "分类"),
    "points": ("分值", "分数"),
    "cap": ("上限", "封顶"),
    "owner": ("责任部门", "考核部门"),
    "cycle": ("考核周期", "周期"),
    "standard": ("评分标准", "考核口径"),
    "aliases": ("别名",),
    Level.OFFICE.value: ("绩效办解读",),
    Level.SECTION.value: ("股室解读",),
    Level.BRANCH.value: ("派出机构解读",),
}
FAQ_COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("编码", "指标编码"),
    "q": ("问题",),
    "a": ("答案", "回答"),
}
META_COLUMNS: dict[str, tuple[str, ...]] = {"key": ("键", "项目"), "value": ("值", "内容")}
INDICATOR_SHEETS = ("指标", "考评指标", "indicators")
FAQ_SHEETS = ("问答", "FAQ", "faq")
META_SHEETS = ("元数据", "说明", "meta")
KNOWN_TOP_LEVEL = ("title", "year", "scoring", "indicators")


# ---------------------------------------------------------------- validation


@dataclass
class _Located:
    """A raw indicator record and how to locate each of its fields."""

    values: Mapping[str, Any]
    where: Callable[[str | None], Problem]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    return unicodedata.normalize("NFC", str(value)).strip()


def _indicator(record: _Located, problems: list[Problem]) -> Indicator | None:
    values = record.values
    before = len(problems)

    def fail(field: str, message: str) -> None:
        problem = record.where(field)
        problems.append(Problem(problem.file, message, problem.line, field, problem.sheet))

    for required in ("code", "name", "type", "points"):
        if _text(values.get(required)) == "":
            fail(required, "必填字段缺失")
    code = _text(values.get("code"))
    if code and not CODE_PATTERN.match(code):
        fail("code", f"编码“{code}”格式不正确（字母、数字、-、_、.，最长 32 位）")
    name = _text(values.get("name"))
    if len(name) > 100:
        fail("name", "名称过长（最多 100 字）")
    type_text = _text(values.get("type"))
    indicator_type = TYPE_SPELLINGS.get(type_text.lower())
    if type_text and indicator_type is None:
        fail("type", f"未知类型“{type_text}”（应为 定量指标、加分项 或 减分项）")
    points: Decimal | None = None
    if _text(values.get("points")):
        try:
            points = parse_points(values.get("points"), allow_negative=False)
        except NumberError as exc:
            fail("points", f"分值{exc}")
    cap: Decimal | None = None
    if _text(values.get("cap")):
        try:
            cap = parse_points(values.get("cap"), allow_negative=False)
        except NumberError as exc:
            fail("cap", f"上限{exc}")
    cycle_text = _text(values.get("cycle"))
    cycle = CYCLE_SPELLINGS.get(cycle_text.lower()) if cycle_text else None
    if cycle_text and cycle is None:
        fail("cycle", f"未知考核周期“{cycle_text}”（应为 日、月、季、半年 或 年）")
    aliases_raw = values.get("aliases")
    aliases: list[str] = []
    if isinstance(aliases_raw, list):
        aliases = [_text(a) for a in aliases_raw if _text(a)]
    elif _text(aliases_raw):
        aliases = [a.strip() for a in ALIAS_SEPARATORS.split(_text(aliases_raw)) if a.strip()]
    if len(set(aliases)) != len(aliases):
        aliases = list(dict.fromkeys(aliases))
    interpretations: list[Interpretation] = []
    raw_interpretations = values.get("interpretations")
    if raw_interpretations is not None and not isinstance(raw_interpretations, list):
        fail("interpretations", "应为列表（每项含 level 和 text）")
    seen_levels: set[Level] = set()
    for item in raw_interpretations or []:
        if not isinstance(item, dict):
            fail("interpretations", "每项应含 level 和 text")
            continue
        level_text = _text(item.get("level"))
        level = LEVEL_SPELLINGS.get(level_text.lower())
        text = _text(item.get("text"))
        if level is None:
            fail("interpretations", f"未知解读层级“{level_text}”（应为 绩效办、股室 或 派出机构）")
        elif level in seen_levels:
            fail("interpretations", f"解读层级“{level.value}”重复")
        elif not text:
            fail("interpretations", f"“{level.value}”解读内容为空")
        else:
            seen_levels.add(level)
            interpretations.append(Interpretation(level, text))
    interpretations.sort(key=lambda i: list(Level).index(i.level))
    faqs: list[Faq] = []
    raw_faq = values.get("faq")
    if raw_faq is not None and not isinstance(raw_faq, list):
        fail("faq", "应为列表（每项含 q 和 a）")
    for item in raw_faq or []:
        if not isinstance(item, dict) or not _text(item.get("q")) or not _text(item.get("a")):
            fail("faq", "每个问答都需要 q（问题）和 a（答案）")
            continue
        faqs.append(Faq(_text(item["q"]), _text(item["a"])))
    if len(problems) > before or indicator_type is None or points is None:
        return None
    return Indicator(
        code=code,
        name=name,
        type=indicator_type,
        points=points,
        category=_text(values.get("category")),
        cap=cap,
        owner=_text(values.get("owner")),
        cycle=cycle,
        standard=_text(values.get("standard")),
        aliases=tuple(aliases),
        interpretations=tuple(interpretations),
        faq=tuple(faqs),
    )


def _assemble(
    records: list[_Located],
    *,
    file: str,
    title: str,
    year: Any,
    scoring: Any,
    extra: dict[str, Any],
    problems: list[Problem],
    year_line: int | None = None,
) -> Rulebook:
    if not records and not problems:
        problems.append(Problem(file, "没有任何指标"))
    indicators: list[Indicator] = []
    first_seen: dict[str, tuple[int | None, Indicator | None]] = {}
    duplicates = 0
    for record in records:
        indicator = _indicator(record, problems)
        code = _text(record.values.get("code"))
        if code in first_seen:
            earlier_line, earlier = first_seen[code]
            if indicator is not None and indicator == earlier:
                duplicates += 1  # the same indicator pasted twice: kept once
                continue
            where = record.where("code")
            message = f"编码“{code}”与第{earlier_line}行编码相同但内容不同，无法判断以哪一行为准"
            problems.append(Problem(file, message, where.line, "code", where.sheet))
            continue
        if code:
            first_seen[code] = (record.where("code").line, indicator)
        if indicator is not None:
            indicators.append(indicator)
    year_value: int | None = None
    if year not in (None, ""):
        try:
            year_value = parse_whole(year, low=2000, high=2100)
        except NumberError as exc:
            problems.append(Problem(file, f"年度{exc}", year_line, "year"))
    if scoring is not None and not isinstance(scoring, dict):
        problems.append(Problem(file, "scoring 应为键值对", None, "scoring"))
    if problems:
        raise InputError(problems)
    return Rulebook(
        title=title,
        year=year_value,
        indicators=tuple(indicators),
        scoring=scoring,
        extra=extra,
        duplicates=duplicates,
    )


# ---------------------------------------------------------------- readers


def _read_yaml(data: bytes, file: str) -> Rulebook:
    document = load_yaml(decode_text(data, file), file=file)
    if document is None:
        raise InputError([Problem(file, "文件为空")])
    if not isinstance(document, dict):
        raise InputError([Problem(file, "顶层应为键值对（title、year、indicators …）", 1)])
    lines: dict[str, int] = document.get(LINES, {})
    problems: list[Problem] = []
    raw_indicators = document.get("indicators")
    if not isinstance(raw_indicators, list):
        problems.append(
            Problem(file, "缺少 indicators 列表", lines.get("indicators"), "indicators")
        )
        raw_indicators = []
    records: list[_Located] = []
    for position, raw in enumerate(raw_indicators, start=1):
        if not isinstance(raw, dict):
            problems.append(Problem(file, f"第{position}个指标应为键值对", None, "indicators"))
            continue
        field_lines: dict[str, int] = raw.get(LINES, {})
        start = raw.get(LINE)

        def where(field: str | None, _l: dict[str, int] = field_lines, _s: Any = start) -> Problem:
            return Problem(file, "", _l.get(field or "", _s))

        records.append(_Located(values=strip_lines(raw), where=where))
    extra = {
        str(k): strip_lines(v)
        for k, v in document.items()
        if k not in KNOWN_TOP_LEVEL and k not in (LINES, LINE)
    }
    return _assemble(
        records,
        file=file,
        title=_text(document.get("title")) or Path(file).stem,
        year=document.get("year"),
        scoring=strip_lines(document.get("scoring")),
        extra=extra,
        problems=problems,
        year_line=lines.get("year"),
    )


def _table_records(table: Table) -> list[_Located]:
    records: list[_Located] = []
    for row in bounded(table, MAX_TABLE_ROWS):
        values: dict[str, Any] = {k: v for k, v in row.values.items() if k not in LEVEL_SPELLINGS}
        values["interpretations"] = [
            {"level": level.value, "text": row.values[level.value]}
            for level in Level
            if row.values.get(level.value)
        ]

        def where(field: str | None, _row: Row = row) -> Problem:
            return table.problem("", line=_row.line)

        records.append(_Located(values=values, where=where))
    return records


def _attach_faq(records: list[_Located], faq: Table | None, problems: list[Problem]) -> None:
    if faq is None:
        return
    by_code: dict[str, list[dict[str, str]]] = {}
    rows = list(bounded(faq, MAX_TABLE_ROWS))
    for row in rows:
        code, q, a = row.values.get("code", ""), row.values.get("q", ""), row.values.get("a", "")
        for field, value in (("code", code), ("q", q), ("a", a)):
            if not value:
                problems.append(faq.problem("必填字段缺失", line=row.line, field=field))
        if code and q and a:
            by_code.setdefault(code, []).append({"q": q, "a": a})
    known = {_text(r.values.get("code")) for r in records}
    for row in rows:
        code = row.values.get("code", "")
        if code and code not in known:
            problems.append(faq.problem(f"未知指标编码“{code}”", line=row.line, field="code"))
    for record in records:
        items = by_code.get(_text(record.values.get("code")))
        if items:
            record.values = {**record.values, "faq": items}


def _read_csv(data: bytes, file: str, faq_path: Path | None) -> Rulebook:
    table = read_csv_table(
        data, file=file, columns=INDICATOR_COLUMNS, required=("code", "name", "type", "points")
    )
    problems: list[Problem] = []
    faq_table = None
    if faq_path is not None:
        try:
            faq_table = read_csv_table(
                read_bytes(faq_path, limit=MAX_RULEBOOK_BYTES),
                file=faq_path.name,
                columns=FAQ_COLUMNS,
                required=("code", "q", "a"),
            )
        except InputError as exc:
            problems.extend(exc.problems)
    records = _table_records(table)
    _attach_faq(records, faq_table, problems)
    return _assemble(
        records,
        file=file,
        title=Path(file).stem,
        year=None,
        scoring=None,
        extra={},
        problems=problems,
    )


def _read_xlsx(data: bytes, file: str) -> Rulebook:
    indicators, faq, meta, learned, synonyms = read_xlsx_tables(
        data,
        file=file,
        sheets=[
            ((*INDICATOR_SHEETS, "*"), INDICATOR_COLUMNS, ("code", "name", "type", "points"), True),
            (FAQ_SHEETS, FAQ_COLUMNS, ("code", "q", "a"), False),
            (META_SHEETS, META_COLUMNS, ("key", "value"), False),
            (LEARNED_SHEETS, LEARNED_COLUMNS, ("code", "question"), False),
            (SYNONYM_SHEETS, SYNONYM_COLUMNS, ("word", "term"), False),
        ],
    )
    assert indicators is not None
    problems: list[Problem] = []
    records = _table_records(indicators)
    _attach_faq(records, faq, problems)
    metadata: dict[str, Any] = {}
    if meta is not None:
        key_lines: dict[str, int] = {}
        for row in bounded(meta, MAX_TABLE_ROWS):
            key, value = row.values.get("key", ""), row.values.get("value", "")
            if not key:
                continue
            if key in key_lines:
                message = f"键“{key}”重复（首次出现在第{key_lines[key]}行）"
                problems.append(meta.problem(message, line=row.line, field=key))
                continue
            key_lines[key] = row.line
            try:
                metadata[key] = load_yaml(value, file=file) if value else None
            except InputError as exc:
                reason = exc.problems[0].message if exc.problems else "值不是有效的 YAML"
                problems.append(meta.problem(reason, line=row.line, field=key))
    metadata = strip_lines(metadata)
    # The learned phrasings and the synonym table have sheets of their own: they grow to
    # thousands of rows, far beyond what one 元数据 cell holds.
    if learned is not None:
        metadata[LEARNED_KEY] = learned_from_table(learned)
    if synonyms is not None:
        metadata[SYNONYMS_KEY] = [
            {"word": row.values.get("word", ""), "term": row.values.get("term", "")}
            for row in synonyms.rows
        ]
    return _assemble(
        records,
        file=file,
        title=_text(metadata.pop("title", None)) or Path(file).stem,
        year=metadata.pop("year", None),
        scoring=metadata.pop("scoring", None),
        extra=metadata,
        problems=problems,
    )


def parse_rulebook_text(text: str, *, source: str) -> Rulebook:
    """A rulebook from YAML text already in hand (e.g. a stored version)."""
    return _read_yaml(text.encode("utf-8"), source)


def parse_rulebook_header(text: str, *, source: str) -> Rulebook:
    """Title, year, scoring and other top-level keys of a document written by
    :func:`rulebook_to_yaml`, without its indicators (the rulebook comes back with none).

    The writer puts ``indicators`` last, so everything before that top-level key is the
    header; re-validating 5,000 stored indicators just to read a title took a minute of CPU.
    A document written otherwise is parsed whole.
    """
    head, found, _indicators = text.partition("\nindicators:")
    if not found:
        parsed = parse_rulebook_text(text, source=source)
        return Rulebook(parsed.title, parsed.year, (), parsed.scoring, parsed.extra)
    document = load_yaml(head, file=source) or {}
    if not isinstance(document, dict):
        raise InputError([Problem(source, "顶层应为键值对（title、year、indicators …）", 1)])
    extra = {
        str(k): strip_lines(v)
        for k, v in document.items()
        if k not in KNOWN_TOP_LEVEL and k not in (LINES, LINE)
    }
    year = document.get("year")
    return Rulebook(
        title=_text(document.get("title")) or Path(source).stem,
        year=int(year) if isinstance(year, int | Decimal) else None,
        indicators=(),
        scoring=strip_lines(document.get("scoring")),
        extra=extra,
    )


def find_faq_file(path: Path) -> Path | None:
    """The conventional companion FAQ file of a CSV rulebook, if one lies beside it."""
    for suffix in ("_faq", ".faq", "-faq", "_问答"):
        candidate = path.with_name(f"{path.stem}{suffix}{path.suffix}")
        if candidate.is_file():
            return candidate
    return None


def read_rulebook(path: Path, *, faq_path: Path | None = None) -> Rulebook:
    """Read and validate a rulebook file; raise :class:`InputError` listing every problem."""
    file = path.name
    data = read_bytes(path, limit=MAX_RULEBOOK_BYTES)
    kind = suffix_of(path)
    if kind in ("yaml", "yml"):
        return _read_yaml(data, file)
    if kind == "csv":
        return _read_csv(data, file, faq_path or find_faq_file(path))
    if kind == "xlsx":
        return _read_xlsx(data, file)
    raise InputError([Problem(file, f"不支持的文件类型“.{kind}”（支持 .yaml、.yml、.csv、.xlsx）")])
