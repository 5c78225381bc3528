"""Learned phrasings: questions staff asked, tied by use or by the office to an indicator.

They are kept with the rulebook as its top-level ``learned`` list (in XLSX, the sheet 已学问法),
so a rulebook export carries them and a re-import brings them back::

    learned:
      - {code: DL-01, question: 大厅排队等了一个小时会扣分吗, source: office-attach,
         by: "tg:1001", at: "2026-11-30T08:00:00+00:00"}

The matcher answers a learned question directly when it is asked again, or asked again with a
character or two changed (:func:`learned_answer`); its index compares the phrasings whole,
like FAQ questions, and does not take their words as terms (see :mod:`knowledge.index`). They
are also the calibration's positives.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, TypeVar

from rapidfuzz import fuzz, process

from knowledge.files import InputError, Problem, Table
from knowledge.rulebook import Rulebook
from knowledge.text import compact, segments, strip_fillers, to_simplified

RULEBOOK_KEY = "learned"
LEARNED_SHEETS = ("已学问法", "learned")
LEARNED_COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("编码", "指标编码", "code"),
    "question": ("问法", "问题", "question"),
    "source": ("来源", "source"),
    "by": ("录入人", "by"),
    "at": ("时间", "at"),
}
MAX_QUESTION_CHARS = 500


class LearnedSource(StrEnum):
    """How a phrasing was learned."""

    CLARIFY_PICK = "clarify-pick"  # the asker chose this indicator among the candidates
    THUMBS_UP = "thumbs-up"  # the asker pressed 👍 on the answer
    OFFICE_ATTACH = "office-attach"  # the office attached an unanswered question
    IMPORTED = "imported"  # came with a rulebook file that did not say

    @property
    def label(self) -> str:
        """The Chinese name shown to the office."""
        return {
            LearnedSource.CLARIFY_PICK: "提问者选择",
            LearnedSource.THUMBS_UP: "点赞",
            LearnedSource.OFFICE_ATTACH: "绩效办归入",
            LearnedSource.IMPORTED: "随细则导入",
        }[self]


@dataclass(frozen=True)
class LearnedPhrasing:
    """A question as it was asked, and the indicator it is about."""

    code: str
    question: str
    source: LearnedSource = LearnedSource.IMPORTED
    by: str = ""
    at: str = ""  # ISO 8601, as text so that files round-trip exactly


def _source(text: str) -> LearnedSource | None:
    if not text:
        return LearnedSource.IMPORTED
    for source in LearnedSource:
        if text in (source.value, source.label):
            return source
    return None


def _checked(
    items: Iterable[tuple[dict[str, str], Problem]], problems: list[Problem]
) -> tuple[LearnedPhrasing, ...]:
    found: dict[tuple[str, str], LearnedPhrasing] = {}

    def at(where: Problem, name: str, message: str) -> Problem:
        # inside a rulebook's list the entry is the field (learned[3].question); in a sheet,
        # the row is the line and the column the field
        field = f"{where.field}.{name}" if where.field else name
        return replace(where, field=field, message=message)

    for values, where in items:
        code = values.get("code", "").strip()
        question = values.get("question", "").strip()
        source = _source(values.get("source", "").strip())
        if not code:
            problems.append(at(where, "code", "指标编码为空"))
        elif not compact(question):
            problems.append(at(where, "question", "问法为空"))
        elif len(question) > MAX_QUESTION_CHARS:
            problems.append(at(where, "question", f"问法超过 {MAX_QUESTION_CHARS} 字"))
        elif source is None:
            sources = "、".join(s.value for s in LearnedSource)
            problems.append(at(where, "source", f"来源应为 {sources} 之一"))
        else:
            phrasing = LearnedPhrasing(
                code,
                question,
                source,
                values.get("by", "").strip(),
                values.get("at", "").strip(),
            )
            found.setdefault((code, question), phrasing)
    return tuple(found.values())


def learned_of(rulebook: Rulebook, *, file: str | None = None) -> tuple[LearnedPhrasing, ...]:
    """The phrasings kept in a rulebook; raise :class:`InputError` on a malformed entry.

    ``file`` names the rulebook's file in problems (its title when not given).
    """
    raw = rulebook.extra.get(RULEBOOK_KEY)
    if raw is None:
        return ()
    file = file or rulebook.title or "rulebook"
    if not isinstance(raw, list):
        raise InputError([Problem(file, "应为列表（- code: … question: …）", field=RULEBOOK_KEY)])
    problems: list[Problem] = []
    items: list[tuple[dict[str, str], Problem]] = []
    for position, item in enumerate(raw, start=1):
        where = Problem(file, "", field=f"{RULEBOOK_KEY}[{position}]")
        if not isinstance(item, dict):
            problems.append(replace(where, message="应为键值对（code、question）"))
            continue
        items.append(({k: "" if v is None else str(v) for k, v in item.items()}, where))
    phrasings = _checked(items, problems)
    if problems:
        raise InputError(problems)
    return phrasings


def learned_from_table(table: Table) -> list[dict[str, str]]:
    """The rows of an XLSX 已学问法 sheet as entries of the rulebook's ``learned`` list."""
    problems: list[Problem] = []
    items = [(dict(row.values), table.problem("", line=row.line)) for row in table.rows]
    phrasings = _checked(items, problems)
    if problems:
        raise InputError(problems)
    return [phrasing_entry(p) for p in phrasings]


def phrasing_entry(phrasing: LearnedPhrasing) -> dict[str, str]:
    """One phrasing as an entry of the ``learned`` list (empty fields left out)."""
    entry = {"code": phrasing.code, "question": phrasing.question}
    entry["source"] = phrasing.source.value
    if phrasing.by:
        entry["by"] = phrasing.by
    if phrasing.at:
        entry["at"] = phrasing.at
    return entry


def with_learned(rulebook: Rulebook, phrasings: Sequence[LearnedPhrasing]) -> Rulebook:
    """The rulebook with its learned phrasings replaced (none removes the key)."""
    extra: dict[str, Any] = {k: v for k, v in rulebook.extra.items() if k != RULEBOOK_KEY}
    if phrasings:
        extra[RULEBOOK_KEY] = [phrasing_entry(p) for p in phrasings]
    return replace(rulebook, extra=extra)


def learned_by_code(phrasings: Iterable[LearnedPhrasing]) -> dict[str, list[str]]:
    """Indicator code → its learned questions, the shape the matcher takes."""
    by_code: dict[str, list[str]] = defaultdict(list)
    for phrasing in phrasings:
        if phrasing.question not in by_code[phrasing.code]:
            by_code[phrasing.code].append(phrasing.question)
    return dict(by_code)


def question_key(text: str) -> str:
    """A question reduced to what it asks: simplified, greetings and tails dropped, compact."""
    return "".join(segments(strip_fillers(to_simplified(text))))


def exact_answers(learned: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Question key → indicator code, for keys learned for exactly one indicator.

    Someone already said what this very question is about (a pick, a 👍, the office), so
    asked again it is answered directly even when its words alone cannot decide (a bare
    "12366" fits two indicators). A key learned for two indicators stays undecided.
    """
    owners: dict[str, set[str]] = defaultdict(set)
    for code, questions in learned.items():
        for question in questions:
            if key := question_key(question):
                owners[key].add(code)
    return {key: next(iter(codes)) for key, codes in owners.items() if len(codes) == 1}


# A learned question asked again with a character or two changed ("老板打电话来骂人" and
# "老板打电话过来骂人": 94): rapidfuzz's ratio of the two keys. At this cut a replaced
# character needs a key of ten characters or more, so short keys ("扣分" / "加分") never meet
# by accident. Each miss of the exact key compares it with every learned key: 0.9 ms per
# question at 5,000 learned phrasings on this machine, 0.1 ms at 500.
NEAR_RATIO = 90.0
_Doc = TypeVar("_Doc")


def learned_answer(key: str, exact: Mapping[str, _Doc]) -> _Doc | None:
    """What a question key was learned for (``exact``: :func:`exact_answers`' keys): the key
    itself, or else keys within :data:`NEAR_RATIO` of it, when they all point to one place."""
    found = exact.get(key)
    if found is not None or not key or not exact:
        return found
    near = process.extract(
        key, exact.keys(), scorer=fuzz.ratio, score_cutoff=NEAR_RATIO, limit=None
    )
    owners = {exact[k] for k, _, _ in near}
    return owners.pop() if len(owners) == 1 else None
