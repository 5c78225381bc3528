"""Data access for what the matcher learns from use: phrasings, office synonyms, votes.

Learned phrasings and synonyms outlive rulebook versions: an import adds the ones its file
carries and never deletes any, and :func:`db.question_path.load_rulebook` puts them back into
the live rulebook, so whatever reads the rulebook (the matcher, an export) sees them. That
module also reads them, and keeps the stamp that says when they changed, without the ORM.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, delete, select

from db import question_path
from db.models import (
    LearnedPhrasingRecord,
    OfficeSynonymRecord,
    QuestionFeedback,
    QuestionLog,
    RulebookVersion,
)
from db.session import connection_of
from knowledge.learned import LearnedSource
from knowledge.synonyms import OfficeSynonym
from knowledge.text import compact

# A 👎 withdraws what the same question taught by use; the office's own attachments stay.
WITHDRAWN_BY_THUMBS_DOWN = (LearnedSource.THUMBS_UP.value, LearnedSource.CLARIFY_PICK.value)


def _current_version_id(session: Session) -> int | None:
    statement = select(RulebookVersion.id).order_by(col(RulebookVersion.id).desc()).limit(1)
    return session.exec(statement).first()


def _insert_once(session: Session, row: SQLModel) -> bool:
    """Insert a row unless a unique constraint says it is there already (even concurrently)."""
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return False
    return True


# ---------------------------------------------------------------- learned phrasings


def learn_phrasing(
    *,
    session: Session,
    code: str,
    question: str,
    source: LearnedSource,
    by: str,
    question_id: int | None = None,
    learned_at: datetime | None = None,
) -> bool:
    """Tie a question to an indicator; False when that pair is known already."""
    text = question.strip()[:500]
    if not compact(text):
        return False
    existing = session.exec(
        select(LearnedPhrasingRecord.id).where(
            col(LearnedPhrasingRecord.indicator_code) == code,
            col(LearnedPhrasingRecord.question) == text,
        )
    ).first()
    if existing is not None:
        return False
    row = LearnedPhrasingRecord(
        indicator_code=code,
        question=text,
        source=source.value,
        learned_by=by[:100],
        version_id=_current_version_id(session),
        question_id=question_id,
    )
    if learned_at is not None:
        row.learned_at = learned_at
    return _insert_once(session, row)


def forget_phrasing(*, session: Session, code: str, question: str) -> int:
    """Remove one learned phrasing (the office changed its mind); how many rows went."""
    result = session.exec(
        delete(LearnedPhrasingRecord).where(
            col(LearnedPhrasingRecord.indicator_code) == code,
            col(LearnedPhrasingRecord.question) == question.strip(),
        )
    )
    return int(result.rowcount or 0)


def record_pick(*, session: Session, question_id: int, code: str, by: str) -> bool:
    """The asker chose ``code`` among the candidates; True when a new phrasing was learned."""
    row = session.get(QuestionLog, question_id)
    if row is None or code not in row.candidates:
        return False  # an old or forged button teaches nothing
    if row.resolved_code is None:
        row.resolved_code = code
        session.add(row)
    return learn_phrasing(
        session=session,
        code=code,
        question=row.question,
        source=LearnedSource.CLARIFY_PICK,
        by=by,
        question_id=question_id,
    )


def _related(row: QuestionLog, code: str) -> bool:
    return code in (row.indicator_code, row.resolved_code) or code in row.candidates


def record_vote(
    *, session: Session, question_id: int, code: str, voter: str, useful: bool, channel: str
) -> bool:
    """Keep a voter's last 👍/👎 on one answer; True when the learned phrasings changed."""
    row = session.get(QuestionLog, question_id)
    if row is None:
        return False
    vote = session.exec(
        select(QuestionFeedback).where(
            col(QuestionFeedback.question_id) == question_id, col(QuestionFeedback.voter) == voter
        )
    ).first()
    if vote is None:
        vote = QuestionFeedback(
            question_id=question_id, voter=voter[:100], indicator_code=code[:32], useful=useful
        )
        vote.channel = channel
        if not _insert_once(session, vote):  # the same voter's other press won the race
            return record_vote(
                session=session,
                question_id=question_id,
                code=code,
                voter=voter,
                useful=useful,
                channel=channel,
            )
    else:
        vote.indicator_code, vote.useful, vote.channel = code[:32], useful, channel
        vote.given_at = datetime.now(vote.given_at.tzinfo)
        session.add(vote)
    session.flush()
    if not _related(row, code):
        return False  # a card reached some other way: counted, but no phrasing to learn
    if useful:
        return learn_phrasing(
            session=session,
            code=code,
            question=row.question,
            source=LearnedSource.THUMBS_UP,
            by=voter,
            question_id=question_id,
        )
    still_liked = session.exec(
        select(QuestionFeedback.id).where(
            col(QuestionFeedback.question_id) == question_id,
            col(QuestionFeedback.indicator_code) == code,
            col(QuestionFeedback.useful).is_(True),
        )
    ).first()
    if still_liked is not None:
        return False
    result = session.exec(
        delete(LearnedPhrasingRecord).where(
            col(LearnedPhrasingRecord.question_id) == question_id,
            col(LearnedPhrasingRecord.indicator_code) == code,
            col(LearnedPhrasingRecord.source).in_(WITHDRAWN_BY_THUMBS_DOWN),
        )
    )
    return bool(result.rowcount)


def attach_questions(
    *, session: Session, question_ids: Sequence[int], code: str, by: str
) -> tuple[int, int]:
    """The office ties logged questions to an indicator: (questions resolved, phrasings new)."""
    rows = session.exec(select(QuestionLog).where(col(QuestionLog.id).in_(question_ids))).all()
    learned = 0
    for row in rows:
        row.resolved_code = code
        session.add(row)
        learned += learn_phrasing(
            session=session,
            code=code,
            question=row.question,
            source=LearnedSource.OFFICE_ATTACH,
            by=by,
            question_id=row.id,
        )
    return len(rows), learned


# ---------------------------------------------------------------- office synonyms


def office_synonyms(*, session: Session) -> list[OfficeSynonym]:
    """The office synonym table, oldest entry first."""
    return question_path.office_synonyms(connection_of(session))


def add_synonyms(*, session: Session, synonyms: Iterable[OfficeSynonym], by: str) -> int:
    """Add the pairs not yet in the table; how many were new."""
    version_id = _current_version_id(session)
    known = {(s.word, s.term) for s in office_synonyms(session=session)}
    added = 0
    for synonym in synonyms:
        word, term = synonym.word.strip(), synonym.term.strip()
        if (word, term) in known:
            continue
        known.add((word, term))
        added += _insert_once(
            session,
            OfficeSynonymRecord(word=word, term=term, added_by=by[:100], version_id=version_id),
        )
    return added


def remove_synonyms(*, session: Session, word: str, term: str | None = None) -> int:
    """Remove an everyday word (all its terms, or one); how many pairs went."""
    statement = delete(OfficeSynonymRecord).where(col(OfficeSynonymRecord.word) == word.strip())
    if term is not None:
        statement = statement.where(col(OfficeSynonymRecord.term) == term.strip())
    return int(session.exec(statement).rowcount or 0)


# ---------------------------------------------------------------- freshness and the report


@dataclass
class QuestionCounts:
    """What happened to the questions about one indicator."""

    asked: int = 0
    answered: int = 0
    clarified: int = 0
    resolved: int = 0  # picked among candidates, or attached by the office
    useful: int = 0
    not_useful: int = 0
    learned: int = 0


@dataclass(frozen=True)
class QuestionStats:
    """Per indicator code, from the question log, the votes and the learned phrasings."""

    by_code: dict[str, QuestionCounts] = field(default_factory=dict)
    total: int = 0


def question_stats(*, session: Session) -> QuestionStats:
    """Count asked / answered / clarified / resolved questions and the last votes per code."""
    by_code: dict[str, QuestionCounts] = {}

    def counts(code: str) -> QuestionCounts:
        return by_code.setdefault(code, QuestionCounts())

    total = 0
    rows = session.exec(
        select(
            QuestionLog.status,
            QuestionLog.indicator_code,
            QuestionLog.resolved_code,
            QuestionLog.candidates,
        )
    )
    for status, answered_code, resolved_code, candidates in rows:
        total += 1
        about = {c for c in (answered_code, resolved_code) if c}
        if status == "clarify":
            about.update(candidates)
            for code in candidates:
                counts(code).clarified += 1
        if answered_code:
            counts(answered_code).answered += 1
        if resolved_code:
            counts(resolved_code).resolved += 1
        for code in about:
            counts(code).asked += 1
    votes = session.exec(
        select(QuestionFeedback.indicator_code, QuestionFeedback.useful, func.count()).group_by(
            col(QuestionFeedback.indicator_code), col(QuestionFeedback.useful)
        )
    )
    for code, useful, number in votes:
        if useful:
            counts(code).useful += number
        else:
            counts(code).not_useful += number
    learned = Counter(session.exec(select(LearnedPhrasingRecord.indicator_code)).all())
    for code, number in learned.items():
        counts(code).learned = number
    return QuestionStats(by_code=by_code, total=total)
