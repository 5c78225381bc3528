"""Data access for questions the matcher could not answer confidently."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session, col, select

from db.models import QuestionLog
from knowledge.matcher import MatchResult, Outcome

MAX_LOGGED_CHARS = 500


def log_unanswered(*, session: Session, results: Iterable[MatchResult], channel: str) -> int:
    """Record every clarify and none result; return how many were logged."""
    count = 0
    for result in results:
        if result.status is Outcome.ANSWER:
            continue
        session.add(
            QuestionLog(
                question=result.question[:MAX_LOGGED_CHARS],
                normalized=result.normalized[:MAX_LOGGED_CHARS],
                status=result.status.value,
                candidates=[m.code for m in result.matches],
                channel=channel,
            )
        )
        count += 1
    return count


def latest_unanswered(*, session: Session, limit: int) -> list[QuestionLog]:
    """The ``limit`` most recent logged questions, oldest of them first."""
    statement = select(QuestionLog).order_by(col(QuestionLog.id).desc()).limit(limit)
    return list(reversed(session.exec(statement).all()))


def unanswered_questions(
    *, session: Session, since: datetime | None = None, status: str | None = None
) -> list[QuestionLog]:
    """Logged questions, oldest first."""
    statement = select(QuestionLog).order_by(col(QuestionLog.id))
    if since is not None:
        statement = statement.where(col(QuestionLog.asked_at) >= since)
    if status is not None:
        statement = statement.where(col(QuestionLog.status) == status)
    return list(session.exec(statement).all())
