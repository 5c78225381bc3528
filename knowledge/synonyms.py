"""The office synonym table: the everyday words staff type → the rulebook's official terms.

Kept with the rulebook, as its top-level ``synonyms`` list (``- {word: 排队, term: 等候时长}``),
so it is versioned, exported and re-imported with it. The office may also keep it as a CSV or
XLSX sheet with the columns 日常说法 (word) and 规范用语 (term); :func:`read_synonym_table`
reads that file and :func:`with_synonyms` puts the table into a rulebook.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from knowledge.files import (
    InputError,
    Problem,
    Table,
    read_bytes,
    read_csv_table,
    read_xlsx_tables,
    suffix_of,
)
from knowledge.rulebook import Rulebook
from knowledge.text import compact

RULEBOOK_KEY = "synonyms"
SYNONYM_COLUMNS: dict[str, tuple[str, ...]] = {
    "word": ("日常说法", "日常用语", "说法", "口语", "everyday", "同义词"),
    "term": ("规范用语", "术语", "指标用语", "official"),
}
SYNONYM_SHEETS = ("同义词", "同义词表", "synonyms")
MAX_SYNONYM_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class OfficeSynonym:
    """An everyday word and the official term it stands for in this rulebook."""

    word: str
    term: str


def _checked(
    pairs: Iterable[tuple[str, str, Problem]], problems: list[Problem]
) -> tuple[OfficeSynonym, ...]:
    found: dict[tuple[str, str], OfficeSynonym] = {}
    for word, term, where in pairs:
        if not compact(word):
            problems.append(replace(where, field="word", message="日常说法为空"))
        elif not compact(term):
            problems.append(replace(where, field="term", message="规范用语为空"))
        elif compact(word) == compact(term):
            problems.append(replace(where, field="term", message="规范用语与日常说法相同"))
        else:
            found.setdefault((word, term), OfficeSynonym(word, term))
    return tuple(found.values())


def synonyms_of(rulebook: Rulebook, *, source: str | None = None) -> tuple[OfficeSynonym, ...]:
    """The table kept in a rulebook; raise :class:`InputError` on a malformed entry, naming
    ``source`` (the file it came from) or else the rulebook's title."""
    raw = rulebook.extra.get(RULEBOOK_KEY)
    if raw is None:
        return ()
    file = source or rulebook.title or "rulebook"
    if not isinstance(raw, list):
        raise InputError([Problem(file, "应为列表（- word: … term: …）", field=RULEBOOK_KEY)])
    problems: list[Problem] = []
    pairs: list[tuple[str, str, Problem]] = []
    for position, item in enumerate(raw, start=1):
        where = Problem(file, "", field=f"{RULEBOOK_KEY}[{position}]")
        if not isinstance(item, dict):
            problems.append(replace(where, message="应为键值对（word、term）"))
            continue
        pairs.append((str(item.get("word") or ""), str(item.get("term") or ""), where))
    table = _checked(pairs, problems)
    if problems:
        raise InputError(problems)
    return table


def _from_table(table: Table) -> tuple[OfficeSynonym, ...]:
    problems: list[Problem] = []
    pairs = [
        (row.values.get("word", ""), row.values.get("term", ""), table.problem("", line=row.line))
        for row in table.rows
    ]
    synonyms = _checked(pairs, problems)
    if problems:
        raise InputError(problems)
    return synonyms


def read_synonym_table(path: Path) -> tuple[OfficeSynonym, ...]:
    """Read a CSV or XLSX synonym table; raise :class:`InputError` listing every problem."""
    data = read_bytes(path, limit=MAX_SYNONYM_BYTES)
    kind = suffix_of(path)
    if kind == "csv":
        table = read_csv_table(
            data, file=path.name, columns=SYNONYM_COLUMNS, required=("word", "term")
        )
        return _from_table(table)
    if kind == "xlsx":
        (sheet,) = read_xlsx_tables(
            data,
            file=path.name,
            sheets=[((*SYNONYM_SHEETS, "*"), SYNONYM_COLUMNS, ("word", "term"), True)],
        )
        assert sheet is not None  # a required sheet is never None
        return _from_table(sheet)
    raise InputError([Problem(path.name, f"不支持的文件类型“.{kind}”（支持 .csv、.xlsx）")])


def with_synonyms(rulebook: Rulebook, synonyms: Sequence[OfficeSynonym]) -> Rulebook:
    """The rulebook with its synonym table replaced (an empty table removes the key)."""
    extra: dict[str, Any] = {k: v for k, v in rulebook.extra.items() if k != RULEBOOK_KEY}
    if synonyms:
        extra[RULEBOOK_KEY] = [{"word": s.word, "term": s.term} for s in synonyms]
    return replace(rulebook, extra=extra)
