"""Data access for the outbox: every message kpibot sends unprompted, exactly once.

Exactly-once is the database's job, not the caller's:

- an outbox row is inserted with ``INSERT … ON CONFLICT DO NOTHING`` on its unique
  ``dedup_key``: a run repeated, resumed or racing another process queues nothing twice;
- outbox rows are claimed atomically (PostgreSQL: ``FOR UPDATE SKIP LOCKED``; SQLite: the
  write lock taken up front with ``BEGIN IMMEDIATE``) and leased (``claimed``). A sender
  that dies before sending leaves claimed rows whose lease runs out; another sender takes
  them over, safely, since nothing left;
- just before a row is handed to the network it becomes ``sending`` (committed). A row
  still ``sending`` when its lease runs out was in flight when its sender died: its fate is
  unknown, so it becomes ``uncertain`` and is never sent again. So is a row whose send timed
  out. The acknowledgement loop settles uncertain rows: the reminder carries the notice;
- a recipient is addressed by ``(channel, address)``: a Telegram chat id, a WeCom user id…
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple

from sqlalchemy import and_, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from db.models import NoticeDelivery


class DeliveryStatus(StrEnum):
    """Where an outbox row is."""

    PENDING = "pending"
    CLAIMED = "claimed"  # leased by a sender, not yet handed to the network
    SENDING = "sending"  # handed to the network: never sent again
    SENT = "sent"
    FAILED = "failed"
    BLOCKED = "blocked"
    UNCERTAIN = "uncertain"  # the channel never answered: it may or may not have arrived


UNFINISHED = (DeliveryStatus.PENDING, DeliveryStatus.CLAIMED, DeliveryStatus.SENDING)
REACHED = (DeliveryStatus.SENT, DeliveryStatus.UNCERTAIN)  # may have reached the recipient
TELEGRAM = "telegram"


class Address(NamedTuple):
    """Where a recipient is reached: a channel and the channel's address for them."""

    channel: str
    address: str

    def __str__(self) -> str:
        return self.address if self.channel == TELEGRAM else f"{self.channel}:{self.address}"


def telegram_address(chat_id: int) -> Address:
    """A Telegram chat as an address."""
    return Address(TELEGRAM, str(chat_id))


def delivery_key(kind: str, reference: object, to: Address, *extra: object) -> str:
    """The dedup key of one message to one recipient: ``notice:7:telegram:123``."""
    return ":".join(str(part) for part in (kind, reference, to.channel, to.address, *extra))


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


def insert_ignoring_conflicts(session: Session, model: Any, values: dict[str, Any]) -> bool:
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


def enqueue(
    *,
    session: Session,
    dedup_key: str,
    kind: DeliveryKind,
    month: str,
    to: Address,
    text: str,
    notice_id: int | None = None,
    buttons: bool = False,
    now: datetime,
) -> bool:
    """Put a message in the outbox unless ``dedup_key`` is there already; True when new."""
    return insert_ignoring_conflicts(
        session,
        NoticeDelivery,
        {
            "dedup_key": dedup_key,
            "kind": kind.value,
            "notice_id": notice_id,
            "month": month,
            "channel": to.channel,
            "address": to.address,
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
    to: Address
    text: str
    buttons: bool
    attempts: int


def _due(now: datetime, channels: Collection[str]) -> Any:
    status = col(NoticeDelivery.status)
    return and_(
        col(NoticeDelivery.channel).in_(list(channels)),
        or_(
            and_(
                status == DeliveryStatus.PENDING.value, col(NoticeDelivery.next_attempt_at) <= now
            ),
            and_(status == DeliveryStatus.CLAIMED.value, col(NoticeDelivery.claimed_until) < now),
        ),
    )


IN_FLIGHT_LOST = "发送过程中进程中断，无法确认是否送达"


def _settle_lost_flights(session: Session, now: datetime) -> int:
    """Rows in flight when their sender died (lease run out while ``sending``): uncertain."""
    result = session.execute(
        update(NoticeDelivery)
        .where(col(NoticeDelivery.status) == DeliveryStatus.SENDING.value)
        .where(col(NoticeDelivery.claimed_until) < now)
        .values(status=DeliveryStatus.UNCERTAIN.value, last_error=IN_FLIGHT_LOST)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def claim_due(
    *,
    session: Session,
    worker: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    channels: Collection[str] = (TELEGRAM,),
) -> list[DeliveryJob]:
    """Claim up to ``limit`` due rows of ``channels`` for ``worker`` until ``now + lease``.

    Must be the first statement of its transaction; commit right after. Two workers never
    get the same row while its lease holds. Rows found in flight past their lease are made
    uncertain first, never claimed again.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        # Take the write lock before reading, so the read and the claim are one step.
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")
    _settle_lost_flights(session, now)
    candidates = (
        select(col(NoticeDelivery.id))
        .where(_due(now, channels))
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
        .where(_due(now, channels))
        .values(
            status=DeliveryStatus.CLAIMED.value,
            claimed_by=worker,
            claimed_until=now + lease,
        )
    )
    rows = session.exec(
        select(NoticeDelivery)
        .where(col(NoticeDelivery.id).in_(ids))
        .where(col(NoticeDelivery.claimed_by) == worker)
        .where(col(NoticeDelivery.status) == DeliveryStatus.CLAIMED.value)
        .order_by(col(NoticeDelivery.id))
    )
    return [
        DeliveryJob(
            id=row.id or 0,
            kind=row.kind,
            notice_id=row.notice_id,
            to=Address(row.channel, row.address),
            text=row.text,
            buttons=row.buttons,
            attempts=row.attempts,
        )
        for row in rows
    ]


def _mine(delivery_id: int, worker: str, *states: DeliveryStatus) -> Any:
    return and_(
        col(NoticeDelivery.id) == delivery_id,
        col(NoticeDelivery.claimed_by) == worker,
        col(NoticeDelivery.status).in_([s.value for s in states]),
    )


def mark_in_flight(*, session: Session, delivery_id: int, worker: str) -> bool:
    """The row is about to be handed to the network; False when the lease was lost."""
    result = session.execute(
        update(NoticeDelivery)
        .where(_mine(delivery_id, worker, DeliveryStatus.CLAIMED))
        .values(status=DeliveryStatus.SENDING.value)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def mark_sent(
    *, session: Session, delivery_id: int, worker: str, reference: str | None, now: datetime
) -> bool:
    """The row went out; False when it is no longer ours.

    A row another sender made uncertain meanwhile (our answer came after the lease ran
    out) is settled as sent: now we know.
    """
    result = session.execute(
        update(NoticeDelivery)
        .where(_mine(delivery_id, worker, DeliveryStatus.SENDING, DeliveryStatus.UNCERTAIN))
        .values(
            status=DeliveryStatus.SENT.value,
            sent_at=now,
            message_ref=reference,
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
    """Back to pending, to be tried at ``next_attempt_at``; ``counts`` adds an attempt.

    Only for a send the channel certainly did not take (refused, or never connected).
    """
    session.execute(
        update(NoticeDelivery)
        .where(_mine(delivery_id, worker, DeliveryStatus.CLAIMED, DeliveryStatus.SENDING))
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
    """Stop trying a row: ``failed`` (attempts spent, or refused for good), ``blocked`` (the
    user blocked us) or ``uncertain`` (no answer: it may have arrived, so never again)."""
    session.execute(
        update(NoticeDelivery)
        .where(_mine(delivery_id, worker, DeliveryStatus.CLAIMED, DeliveryStatus.SENDING))
        .values(
            status=status.value,
            last_error=error[:200],
            attempts=col(NoticeDelivery.attempts) + 1,
            claimed_until=None,
        )
    )


def settle_uncertain(*, session: Session, notice_id: int, to: Address, now: datetime) -> bool:
    """The recipient answered the notice: their uncertain copy did arrive."""
    result = session.execute(
        update(NoticeDelivery)
        .where(col(NoticeDelivery.notice_id) == notice_id)
        .where(col(NoticeDelivery.channel) == to.channel)
        .where(col(NoticeDelivery.address) == to.address)
        .where(col(NoticeDelivery.status) == DeliveryStatus.UNCERTAIN.value)
        .values(status=DeliveryStatus.SENT.value, sent_at=now, last_error="对方已答复，确认送达")
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


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
    """Rows still pending, claimed or being sent."""
    rows = session.exec(
        select(NoticeDelivery.id).where(
            col(NoticeDelivery.status).in_([status.value for status in UNFINISHED])
        )
    )
    return len(list(rows))


def next_due_at(*, session: Session, channels: Collection[str] = (TELEGRAM,)) -> datetime | None:
    """When the earliest pending row of ``channels`` falls due (None when nothing waits)."""
    row = session.exec(
        select(NoticeDelivery.next_attempt_at)
        .where(col(NoticeDelivery.status) == DeliveryStatus.PENDING.value)
        .where(col(NoticeDelivery.channel).in_(list(channels)))
        .order_by(col(NoticeDelivery.next_attempt_at))
        .limit(1)
    ).first()
    return aware(row) if row is not None else None
