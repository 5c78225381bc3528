"""Data access for the question log: every question asked, and how it was answered.

Answered questions are kept too: the office's question report counts them per indicator, and
a 👍 or a clarify pick names the logged question (its id travels in the button), so what was
asked is known when the button comes back, in any process, after any restart.

Questions are written by :func:`db.question_path.log_questions` (SQLAlchemy Core, as part of
answering them); this module holds the office's reads of the log.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_
from sqlmodel import Session, col, select

from db.models import QuestionLog
from knowledge.matcher import Outcome


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
