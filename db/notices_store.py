"""Data access for rectification notices and their outbox.

Exactly-once is the database's job, not the caller's:

- a notice is inserted with ``INSERT … ON CONFLICT DO NOTHING`` on the unique
  ``(unit_code, month)``, an outbox row on its unique ``dedup_key``: a run repeated, resumed
  or racing another process creates nothing twice;
- outbox rows are claimed atomically (PostgreSQL: ``FOR UPDATE SKIP LOCKED``; SQLite: the
  write lock taken up front with ``BEGIN IMMEDIATE``) and leased: a sender that dies leaves
  ``sending`` rows whose lease runs out, and another sender picks them up;
- a row is marked sent only by the sender holding its lease, committed right after the
  Bot API call. Between a successful call and that commit, a crash means the row is sent
  again after its lease expires: delivery is at-least-once in that one window.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from db.models import BotUser, IndicatorRecord, Notice, NoticeDelivery, NoticeRun, Unit


class DeliveryStatus(StrEnum):
    """Where an outbox row is."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    BLOCKED = "blocked"


class DeliveryKind(StrEnum):
    """What an outbox row carries."""

    NOTICE = "notice"
    REMINDER = "reminder"
    ESCALATION = "escalation"
    DIGEST = "digest"
    MEASURES = "measures"


def aware(value: datetime) -> datetime:
    """A stored time as aware UTC (SQLite hands back naive UTC)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _insert_ignoring_conflicts(session: Session, model: Any, values: dict[str, Any]) -> bool:
    """``INSERT … ON CONFLICT DO NOTHING``; True when a row was inserted."""
    dialect = session.get_bind().dialect.name
    table = model.__table__
    if dialect == "postgresql":
        statement: Any = postgresql.insert(table).values(**values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        statement = sqlite.insert(table).values(**values).on_conflict_do_nothing()
    else:  # pragma: no cover - kpibot supports these two
        raise NotImplementedError(dialect)
    # RETURNING says whether a row went in on both backends (rowcount does not, on
    # PostgreSQL, once SQLAlchemy adds its own RETURNING for the primary key).
    key = next(iter(table.primary_key.columns))
    return session.execute(statement.returning(key)).first() is not None


# ---------------------------------------------------------------- runs and notices


def has_run(*, session: Session, month: str) -> bool:
    """Whether the notices of ``month`` have been issued."""
    return session.get(NoticeRun, month) is not None


def record_run(*, session: Session, month: str, source: str, notices: int, now: datetime) -> bool:
    """Mark ``month`` as run; False when it already was."""
    return _insert_ignoring_conflicts(
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
    created = _insert_ignoring_conflicts(session, Notice, notice.__dict__.copy())
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
    """Delivered notices nobody acknowledged, issued before the cut-off, not yet reminded."""
    return list(
        session.exec(
            select(Notice)
            .where(col(Notice.acknowledged_at).is_(None))
            .where(col(Notice.reminded_at).is_(None))
            .where(col(Notice.recipients) > 0)
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


def liaisons_of(*, session: Session, unit_code: str) -> list[int]:
    """Telegram ids of the liaisons bound to a unit (users of other channels have none)."""
    rows = session.exec(
        select(BotUser.telegram_id)
        .where(col(BotUser.telegram_id).is_not(None))
        .where(col(BotUser.role) == "liaison")
        .where(col(BotUser.unit_code) == unit_code)
        .order_by(col(BotUser.telegram_id))
    )
    return [number for number in rows if number is not None]


def admin_ids(*, session: Session) -> list[int]:
    """Telegram ids of the bound admins (the performance office) on Telegram."""
    rows = session.exec(
        select(BotUser.telegram_id)
        .where(col(BotUser.telegram_id).is_not(None))
        .where(col(BotUser.role) == "admin")
        .order_by(col(BotUser.telegram_id))
    )
    return [number for number in rows if number is not None]


def indicator_texts(*, session: Session) -> dict[str, tuple[str, str]]:
    """Every indicator's (name, scoring standard)."""
    rows = session.exec(
        select(IndicatorRecord.code, IndicatorRecord.name, IndicatorRecord.standard)
    )
    return {code: (name, standard) for code, name, standard in rows}


def unit_names(*, session: Session) -> dict[str, str]:
    """Unit code → name."""
    return {code: name for code, name in session.exec(select(Unit.code, Unit.name))}


# ---------------------------------------------------------------- the outbox


def enqueue(
    *,
    session: Session,
    dedup_key: str,
    kind: DeliveryKind,
    month: str,
    chat_id: int,
    text: str,
    notice_id: int | None = None,
    buttons: bool = False,
    now: datetime,
) -> bool:
    """Put a message in the outbox unless ``dedup_key`` is there already; True when new."""
    return _insert_ignoring_conflicts(
        session,
        NoticeDelivery,
        {
            "dedup_key": dedup_key,
            "kind": kind.value,
            "notice_id": notice_id,
            "month": month,
            "chat_id": chat_id,
            "text": text,
            "buttons": buttons,
            "status": DeliveryStatus.PENDING.value,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        },
    )


@dataclass(frozen=True)
class DeliveryJob:
    """A claimed outbox row, detached from the session."""

    id: int
    kind: str
    notice_id: int | None
    chat_id: int
    text: str
    buttons: bool
    attempts: int


def _due(now: datetime) -> Any:
    status = col(NoticeDelivery.status)
    return or_(
        and_(status == DeliveryStatus.PENDING.value, col(NoticeDelivery.next_attempt_at) <= now),
        and_(status == DeliveryStatus.SENDING.value, col(NoticeDelivery.claimed_until) < now),
    )


def claim_due(
    *, session: Session, worker: str, now: datetime, lease: timedelta, limit: int
) -> list[DeliveryJob]:
    """Claim up to ``limit`` due rows for ``worker`` until ``now + lease``.

    Must be the first statement of its transaction; commit right after. Two workers never
    get the same row while its lease holds.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        # Take the write lock before reading, so the read and the claim are one step.
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")
    candidates = (
        select(col(NoticeDelivery.id))
        .where(_due(now))
        .order_by(col(NoticeDelivery.id))
        .limit(limit)
    )
    if dialect == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    ids = list(session.exec(candidates))
    if not ids:
        return []
    session.execute(
        update(NoticeDelivery)
        .where(col(NoticeDelivery.id).in_(ids))
        .where(_due(now))
        .values(
            status=DeliveryStatus.SENDING.value,
            claimed_by=worker,
            claimed_until=now + lease,
        )
    )
    rows = session.exec(
        select(NoticeDelivery)
        .where(col(NoticeDelivery.id).in_(ids))
        .where(col(NoticeDelivery.claimed_by) == worker)
        .where(col(NoticeDelivery.status) == DeliveryStatus.SENDING.value)
        .order_by(col(NoticeDelivery.id))
    )
    jobs = [
        DeliveryJob(
            id=row.id or 0,
            kind=row.kind,
            notice_id=row.notice_id,
            chat_id=row.chat_id,
            text=row.text,
            buttons=row.buttons,
            attempts=row.attempts,
        )
        for row in rows
    ]
    return jobs


def _mine(delivery_id: int, worker: str) -> Any:
    return and_(
        col(NoticeDelivery.id) == delivery_id,
        col(NoticeDelivery.claimed_by) == worker,
        col(NoticeDelivery.status) == DeliveryStatus.SENDING.value,
    )


def mark_sent(
    *, session: Session, delivery_id: int, worker: str, message_id: int | None, now: datetime
) -> bool:
    """The row went out; False when the lease was lost meanwhile (then it is not ours)."""
    result = session.execute(
        update(NoticeDelivery)
        .where(_mine(delivery_id, worker))
        .values(
            status=DeliveryStatus.SENT.value,
            sent_at=now,
            telegram_message_id=message_id,
            attempts=col(NoticeDelivery.attempts) + 1,
            claimed_until=None,
            last_error=None,
        )
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def mark_retry(
    *,
    session: Session,
    delivery_id: int,
    worker: str,
    next_attempt_at: datetime,
    error: str,
    counts: bool,
) -> None:
    """Back to pending, to be tried at ``next_attempt_at``; ``counts`` adds an attempt."""
    session.execute(
        update(NoticeDelivery)
        .where(_mine(delivery_id, worker))
        .values(
            status=DeliveryStatus.PENDING.value,
            next_attempt_at=next_attempt_at,
            last_error=error[:200],
            attempts=col(NoticeDelivery.attempts) + (1 if counts else 0),
            claimed_until=None,
        )
    )


def mark_final(
    *, session: Session, delivery_id: int, worker: str, status: DeliveryStatus, error: str
) -> None:
    """Give up on a row: ``failed`` (attempts spent) or ``blocked`` (the user blocked us)."""
    session.execute(
        update(NoticeDelivery)
        .where(_mine(delivery_id, worker))
        .values(
            status=status.value,
            last_error=error[:200],
            attempts=col(NoticeDelivery.attempts) + 1,
            claimed_until=None,
        )
    )


def deliveries_for(
    *, session: Session, notice_ids: Collection[int], kinds: Iterable[DeliveryKind] | None = None
) -> list[NoticeDelivery]:
    """The outbox rows of some notices, by id."""
    if not notice_ids:
        return []
    statement = select(NoticeDelivery).where(col(NoticeDelivery.notice_id).in_(list(notice_ids)))
    if kinds is not None:
        statement = statement.where(col(NoticeDelivery.kind).in_([k.value for k in kinds]))
    return list(session.exec(statement.order_by(col(NoticeDelivery.id))))


def unfinished_count(*, session: Session) -> int:
    """Rows still pending or being sent."""
    rows = session.exec(
        select(NoticeDelivery.id).where(
            col(NoticeDelivery.status).in_(
                [DeliveryStatus.PENDING.value, DeliveryStatus.SENDING.value]
            )
        )
    )
    return len(list(rows))


def next_due_at(*, session: Session) -> datetime | None:
    """When the earliest pending row becomes due (None when nothing waits)."""
    row = session.exec(
        select(NoticeDelivery.next_attempt_at)
        .where(col(NoticeDelivery.status) == DeliveryStatus.PENDING.value)
        .order_by(col(NoticeDelivery.next_attempt_at))
        .limit(1)
    ).first()
    return aware(row) if row is not None else None
