"""Data access for the question log: every question asked, and how it was answered.

Answered questions are kept too: the office's question report counts them per indicator, and
a 👍 or a clarify pick names the logged question (its id travels in the button), so what was
asked is known when the button comes back, in any process, after any restart.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_
from sqlmodel import Session, col, select

from db.models import QuestionLog
from knowledge.matcher import MatchResult, Outcome

MAX_LOGGED_CHARS = 500


def log_questions(
    *, session: Session, results: Sequence[MatchResult], channel: str, asked_by: str = ""
) -> list[int]:
    """Record every result; return the new rows' ids in the order of ``results``."""
    rows = [
        QuestionLog(
            question=result.question[:MAX_LOGGED_CHARS],
            normalized=result.normalized[:MAX_LOGGED_CHARS],
            status=result.status.value,
            candidates=[m.code for m in result.matches],
            channel=channel,
            asked_by=asked_by,
            indicator_code=(
                result.best.code
                if result.status is Outcome.ANSWER and result.best is not None
                else None
            ),
        )
        for result in results
    ]
    session.add_all(rows)
    session.flush()
    return [row.id for row in rows if row.id is not None]


def _open_questions() -> ColumnElement[bool]:
    """Questions neither answered directly nor resolved since (by a pick or the office)."""
    return and_(
        col(QuestionLog.status) != Outcome.ANSWER.value, col(QuestionLog.resolved_code).is_(None)
    )


def unanswered_questions(
    *, session: Session, since: datetime | None = None, status: str | None = None
) -> list[QuestionLog]:
    """Open questions, oldest first."""
    statement = select(QuestionLog).where(_open_questions()).order_by(col(QuestionLog.id))
    if since is not None:
        statement = statement.where(col(QuestionLog.asked_at) >= since)
    if status is not None:
        statement = statement.where(col(QuestionLog.status) == status)
    return list(session.exec(statement).all())


def find_question(*, session: Session, question_id: int) -> QuestionLog | None:
    """One logged question by id."""
    return session.get(QuestionLog, question_id)
