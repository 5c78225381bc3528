"""Data access for rectification notices: monthly runs, notices, and who receives them.

A notice is inserted with ``INSERT … ON CONFLICT DO NOTHING`` on the unique
``(unit_code, month)``: a run repeated, resumed or racing another process creates nothing
twice. The messages themselves go through the outbox (:mod:`db.outbox_store`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from db.models import BotUser, IndicatorRecord, Notice, NoticeDelivery, NoticeRun, Unit
from db.outbox_store import Address, DeliveryKind, insert_ignoring_conflicts

# ---------------------------------------------------------------- runs and notices


def has_run(*, session: Session, month: str) -> bool:
    """Whether the notices of ``month`` have been issued."""
    return session.get(NoticeRun, month) is not None


def record_run(*, session: Session, month: str, source: str, notices: int, now: datetime) -> bool:
    """Mark ``month`` as run; False when it already was."""
    return insert_ignoring_conflicts(
        session,
        NoticeRun,
        {"month": month, "source": source, "notices": notices, "started_at": now},
    )


@dataclass(frozen=True)
class NewNotice:
    """A notice ready to store."""

    unit_code: str
    month: str
    group_name: str
    score_cents: int
    rank: int
    group_size: int
    content: dict[str, Any]
    text: str
    issued_at: datetime
    deadline: date
    recipients: int


def create_notice(*, session: Session, notice: NewNotice) -> tuple[Notice, bool]:
    """The unit's notice for the month, inserted unless it exists; True when new."""
    created = insert_ignoring_conflicts(session, Notice, notice.__dict__.copy())
    stored = session.exec(
        select(Notice)
        .where(col(Notice.unit_code) == notice.unit_code)
        .where(col(Notice.month) == notice.month)
    ).one()
    return stored, created


def get_notice(*, session: Session, notice_id: int) -> Notice | None:
    """One notice."""
    return session.get(Notice, notice_id)


def notices_for_month(*, session: Session, month: str) -> list[Notice]:
    """A month's notices, by group then unit."""
    return list(
        session.exec(
            select(Notice)
            .where(col(Notice.month) == month)
            .order_by(col(Notice.group_name), col(Notice.unit_code))
        )
    )


def acknowledge(*, session: Session, notice_id: int, user_id: int, now: datetime) -> bool:
    """Record the first 已阅; False when it was already acknowledged."""
    result = session.execute(
        update(Notice)
        .where(col(Notice.id) == notice_id)
        .where(col(Notice.acknowledged_at).is_(None))
        .values(acknowledged_at=now, acknowledged_by=user_id)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def store_measures(
    *, session: Session, notice_id: int, user_id: int, measures: str, now: datetime
) -> None:
    """Store the reported measures (a later report replaces an earlier one).

    Reporting measures also acknowledges the notice.
    """
    session.execute(
        update(Notice)
        .where(col(Notice.id) == notice_id)
        .values(measures=measures, measures_at=now, measures_by=user_id)
    )
    acknowledge(session=session, notice_id=notice_id, user_id=user_id, now=now)


def due_reminders(*, session: Session, issued_before: datetime) -> list[Notice]:
    """Notices nobody acknowledged, issued before the cut-off, not yet reminded."""
    return list(
        session.exec(
            select(Notice)
            .where(col(Notice.acknowledged_at).is_(None))
            .where(col(Notice.reminded_at).is_(None))
            .where(col(Notice.issued_at) <= issued_before)
            .order_by(col(Notice.id))
        )
    )


def due_escalations(*, session: Session, today: date) -> list[Notice]:
    """Notices past their deadline without measures, not yet escalated."""
    return list(
        session.exec(
            select(Notice)
            .where(col(Notice.measures_at).is_(None))
            .where(col(Notice.escalated_at).is_(None))
            .where(col(Notice.deadline) < today)
            .order_by(col(Notice.id))
        )
    )


def mark_followed_up(*, session: Session, notice_id: int, field: str, now: datetime) -> bool:
    """Set ``reminded_at`` or ``escalated_at`` once; False when another process did."""
    column = {"reminded_at": Notice.reminded_at, "escalated_at": Notice.escalated_at}[field]
    result = session.execute(
        update(Notice)
        .where(col(Notice.id) == notice_id)
        .where(col(column).is_(None))
        .values({field: now})
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


# ---------------------------------------------------------------- people and texts


# Channels whose users cannot be sent anything unprompted (the console answers only who types).
UNREACHABLE_CHANNELS = ("console",)


def _bound(session: Session, role: str, unit_code: str | None = None) -> list[Address]:
    statement = (
        select(BotUser.channel, BotUser.external_id)
        .where(col(BotUser.role) == role)
        .where(col(BotUser.channel).not_in(UNREACHABLE_CHANNELS))
        .order_by(col(BotUser.channel), col(BotUser.external_id))
    )
    if unit_code is not None:
        statement = statement.where(col(BotUser.unit_code) == unit_code)
    return [Address(channel, external_id) for channel, external_id in session.exec(statement)]


def liaisons_of(*, session: Session, unit_code: str) -> list[Address]:
    """Where the liaisons bound to a unit are reached, on whatever channel they bound."""
    return _bound(session, "liaison", unit_code)


def admin_addresses(*, session: Session) -> list[Address]:
    """Where the bound admins (the performance office) are reached."""
    return _bound(session, "admin")


def open_notices(*, session: Session) -> list[Notice]:
    """Notices still waiting for measures, oldest first (a new liaison must see them)."""
    return list(
        session.exec(
            select(Notice).where(col(Notice.measures_at).is_(None)).order_by(col(Notice.id))
        )
    )


def notice_recipients(*, session: Session, notice_ids: Collection[int]) -> set[tuple[int, Address]]:
    """(notice id, address) of every notice message already queued for some notices."""
    if not notice_ids:
        return set()
    rows = session.exec(
        select(NoticeDelivery.notice_id, NoticeDelivery.channel, NoticeDelivery.address)
        .where(col(NoticeDelivery.notice_id).in_(list(notice_ids)))
        .where(col(NoticeDelivery.kind) == DeliveryKind.NOTICE.value)
    )
    return {(notice_id or 0, Address(channel, address)) for notice_id, channel, address in rows}


def indicator_texts(*, session: Session) -> dict[str, tuple[str, str]]:
    """Every indicator's (name, scoring standard)."""
    rows = session.exec(
        select(IndicatorRecord.code, IndicatorRecord.name, IndicatorRecord.standard)
    )
    return {code: (name, standard) for code, name, standard in rows}


def unit_names(*, session: Session) -> dict[str, str]:
    """Unit code → name."""
    return {code: name for code, name in session.exec(select(Unit.code, Unit.name))}
