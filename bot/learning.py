"""The office's review loop as use cases every door calls: learn, attach, synonyms, report.

A clarify pick or a 👍 teaches the matcher the question as it was asked; the office attaches
unanswered questions (one, or a group of similar ones) to an indicator; the office synonym
table maps everyday words to official terms. Each change reloads the matcher at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from bot.core.errors import UserError
from bot.services import Services
from db import learning_store, question_log, rulebook_store
from db.learning_store import QuestionCounts
from db.models import QuestionLog
from knowledge.rulebook import Indicator
from knowledge.synonyms import OfficeSynonym, read_synonym_table
from knowledge.text import compact
from knowledge.unanswered import group_questions

_GROUP = re.compile(r"^[gG组](\d+)$")
_QUESTION = re.compile(r"^#?(\d+)$")
MAX_WORD_CHARS = 50
MAX_TERM_CHARS = 100


class LearningError(UserError):
    """Something the office asked for that cannot be done; the message is for the user."""


@dataclass(frozen=True)
class UnansweredGroup:
    """Similar open questions, labelled by their first question's id (stable as more come)."""

    label: str
    example: str
    count: int
    variants: tuple[str, ...]
    statuses: tuple[tuple[str, int], ...]
    candidates: tuple[str, ...]
    question_ids: tuple[int, ...]


@dataclass(frozen=True)
class Attached:
    """What one attach step did."""

    code: str
    name: str
    questions: int
    learned: int


@dataclass(frozen=True)
class IndicatorLine:
    """One indicator's line of the question report."""

    code: str
    name: str
    counts: QuestionCounts


@dataclass(frozen=True)
class QuestionsReport:
    """Per indicator what was asked and how it went; never-asked ones; open question groups."""

    total: int
    lines: list[IndicatorLine] = field(default_factory=list)
    never_asked: list[Indicator] = field(default_factory=list)
    groups: list[UnansweredGroup] = field(default_factory=list)
    unanswered: int = 0


def _grouped(rows: list[QuestionLog]) -> list[UnansweredGroup]:
    groups = group_questions([(r.question, r.status, r.candidates) for r in rows])
    result: list[UnansweredGroup] = []
    for group in groups:
        ids = tuple(row_id for i in group.members if (row_id := rows[i].id) is not None)
        result.append(
            UnansweredGroup(
                label=f"G{ids[0]}",
                example=group.example,
                count=group.count,
                variants=group.variants,
                statuses=group.statuses,
                candidates=tuple(code for code, _ in group.candidates),
                question_ids=ids,
            )
        )
    return result


def unanswered_groups(services: Services) -> tuple[int, list[UnansweredGroup]]:
    """How many open questions there are, and their groups, most frequent first."""
    with services.session() as session:
        rows = question_log.unanswered_questions(session=session)
    return len(rows), _grouped(rows)


def _live_indicator(services: Services, code: str) -> Indicator:
    with services.session() as session:
        found = rulebook_store.find_indicator(session=session, code=code.strip())
    if found is None:
        raise LearningError(f"未找到编码为 {code} 的指标。")
    indicator, active = found
    if not active:
        raise LearningError(f"指标 {indicator.code} 已停用，不能归入。")
    return indicator


def _question_ids(services: Services, reference: str) -> tuple[int, ...]:
    text = reference.strip()
    if match := _GROUP.match(text):
        seed = int(match.group(1))
        _total, groups = unanswered_groups(services)
        for group in groups:
            if group.question_ids[0] == seed:
                return group.question_ids
        raise LearningError(f"没有待处理的问题组 G{seed}（可能已归入）。请重新查看未回答问题。")
    if match := _QUESTION.match(text):
        question_id = int(match.group(1))
        with services.session() as session:
            if question_log.find_question(session=session, question_id=question_id) is None:
                raise LearningError(f"没有编号为 {question_id} 的问题。")
        return (question_id,)
    raise LearningError(f"“{reference}”不是问题组（如 G12）或问题编号（如 12）。")


def attach(services: Services, reference: str, code: str, *, by: str) -> Attached:
    """Attach a question (``12``) or a group of similar ones (``G12``) to an indicator."""
    indicator = _live_indicator(services, code)
    ids = _question_ids(services, reference)
    with services.session() as session:
        questions, learned = learning_store.attach_questions(
            session=session, question_ids=ids, code=indicator.code, by=by
        )
    services.reload()
    return Attached(indicator.code, indicator.name, questions, learned)


def forget(services: Services, code: str, question: str) -> int:
    """Remove a learned phrasing the office no longer wants; how many went."""
    with services.session() as session:
        found = rulebook_store.find_indicator(session=session, code=code.strip())
        canonical = found[0].code if found is not None else code.strip()
        removed = learning_store.forget_phrasing(session=session, code=canonical, question=question)
    if removed:
        services.reload()
    return removed


def record_pick(services: Services, question_id: int, code: str, *, by: str) -> None:
    """The asker chose a clarify candidate: remember the question for that indicator."""
    with services.session() as session:
        changed = learning_store.record_pick(
            session=session, question_id=question_id, code=code, by=by
        )
    if changed:
        services.reload()


def record_vote(
    services: Services, question_id: int, code: str, *, voter: str, useful: bool, channel: str
) -> None:
    """A 👍/👎 on the answer to a logged question; the voter's last press counts."""
    with services.session() as session:
        changed = learning_store.record_vote(
            session=session,
            question_id=question_id,
            code=code,
            voter=voter,
            useful=useful,
            channel=channel,
        )
    if changed:
        services.reload()


# ---------------------------------------------------------------- office synonyms


def synonyms(services: Services) -> list[OfficeSynonym]:
    """The office synonym table."""
    with services.session() as session:
        return learning_store.office_synonyms(session=session)


def set_synonym(services: Services, word: str, term: str, *, by: str) -> bool:
    """Add ``word → term``; False when it was there already."""
    word, term = word.strip(), term.strip()
    if not compact(word) or not compact(term):
        raise LearningError("日常用语和规范用语都不能为空。")
    if len(word) > MAX_WORD_CHARS or len(term) > MAX_TERM_CHARS:
        raise LearningError(f"日常用语最多 {MAX_WORD_CHARS} 字，规范用语最多 {MAX_TERM_CHARS} 字。")
    if compact(word) == compact(term):
        raise LearningError("规范用语与日常用语相同，无需添加。")
    with services.session() as session:
        added = learning_store.add_synonyms(
            session=session, synonyms=[OfficeSynonym(word, term)], by=by
        )
    services.reload()
    return added > 0


def remove_synonym(services: Services, word: str, term: str | None = None) -> int:
    """Remove an everyday word (or one of its terms); how many pairs went."""
    with services.session() as session:
        removed = learning_store.remove_synonyms(session=session, word=word, term=term)
    if removed:
        services.reload()
    return removed


def import_synonyms(services: Services, path: Path, *, by: str) -> tuple[int, int]:
    """Add a CSV/XLSX table's pairs (日常用语, 规范用语): (new, already known)."""
    table = read_synonym_table(path)
    with services.session() as session:
        added = learning_store.add_synonyms(session=session, synonyms=table, by=by)
    services.reload()
    return added, len(table) - added


# ---------------------------------------------------------------- the question report


def questions_report(services: Services, *, groups: int = 10) -> QuestionsReport:
    """The office's monthly look at how questions went, per indicator."""
    rulebook = services.rulebook()
    with services.session() as session:
        stats = learning_store.question_stats(session=session)
        open_rows = question_log.unanswered_questions(session=session)
    indicators = list(rulebook.indicators) if rulebook is not None else []
    lines = [
        IndicatorLine(i.code, i.name, stats.by_code[i.code])
        for i in indicators
        if stats.by_code.get(i.code, QuestionCounts()).asked
    ]
    lines.sort(key=lambda line: (-line.counts.asked, line.code))
    never = [i for i in indicators if not stats.by_code.get(i.code, QuestionCounts()).asked]
    return QuestionsReport(
        total=stats.total,
        lines=lines,
        never_asked=never,
        groups=_grouped(open_rows)[:groups],
        unanswered=len(open_rows),
    )
