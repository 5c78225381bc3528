"""The outbox sender: delivers queued notice messages through per-channel transports.

A transport (Telegram, WeCom …) implements :class:`Transport`: it turns one
:class:`OutboundMessage` into the channel's API calls and says what became of it as a
:class:`DeliveryOutcome`. The sender claims due rows (:mod:`db.notices_store`), paces them per
channel, marks each row in flight (committed) just before handing it to the transport, and
records the outcome right after:

- ``sent``: done;
- ``retry_later``: the channel certainly did not take it (flood control, no connection):
  tried again after a while, until the attempts are spent;
- ``blocked`` / ``failed``: the recipient blocked us, or the channel refuses the request for
  good: never tried again;
- ``uncertain``: no answer (a read timeout, a connection lost mid-request). The message may
  have arrived, so it is never sent again: the acknowledgement loop settles it (a liaison who
  has not pressed 已阅 by the reminder date gets the reminder, which carries the notice).

A sender killed mid-send leaves its in-flight rows ``sending``; when their lease runs out
the next claim makes them uncertain, never sends them again. Rows it had claimed but not yet
handed over are taken over and sent, since nothing left for them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from sqlalchemy.engine import Engine

from db import outbox_store
from db.models import utcnow
from db.outbox_store import Address, DeliveryJob, DeliveryStatus
from db.session import session_scope

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------- the transport protocol


@dataclass(frozen=True)
class OutboundMessage:
    """One outbox row as a transport sees it.

    ``text`` is the masked HTML (``<b>``, ``<i>``, ``<a>``, ``<code>``) a transport converts
    for its channel. ``notice_id`` with ``buttons`` asks for the 已阅 / 报送整改措施 buttons of
    that notice (Telegram: an inline keyboard; WeCom: a template card).
    """

    delivery_id: int
    kind: str  # notice | reminder | escalation | digest | measures
    to: Address
    text: str
    notice_id: int | None
    buttons: bool
    attempts: int  # attempts already spent on this row


class Outcome(StrEnum):
    """What became of one delivery attempt."""

    SENT = "sent"
    RETRY_LATER = "retry_later"
    BLOCKED = "blocked"
    FAILED = "failed"
    UNCERTAIN = "uncertain"


@dataclass(frozen=True)
class DeliveryOutcome:
    """A transport's answer for one message. Build it with the class methods."""

    outcome: Outcome
    detail: str = ""
    reference: str | None = None  # the channel's message id, when sent
    after: float = 0.0  # retry_later: seconds to wait
    counts: bool = True  # retry_later: whether the attempt counts towards the limit

    @classmethod
    def sent(cls, reference: str | None = None) -> DeliveryOutcome:
        """Delivered; ``reference`` is the channel's message id."""
        return cls(Outcome.SENT, reference=reference)

    @classmethod
    def retry_later(
        cls, detail: str, *, after: float | None = None, counts: bool = True
    ) -> DeliveryOutcome:
        """Certainly not delivered; try again ``after`` seconds (None: the sender's back-off).

        ``counts=False`` for the channel's own flow control, which is no failure.
        """
        return cls(
            Outcome.RETRY_LATER, detail, after=-1.0 if after is None else after, counts=counts
        )

    @classmethod
    def blocked(cls, detail: str) -> DeliveryOutcome:
        """The recipient cannot be reached on this channel (blocked the bot, left the app)."""
        return cls(Outcome.BLOCKED, detail)

    @classmethod
    def failed(cls, detail: str) -> DeliveryOutcome:
        """The channel refuses this request for good (malformed, too long …)."""
        return cls(Outcome.FAILED, detail)

    @classmethod
    def uncertain(cls, detail: str) -> DeliveryOutcome:
        """No answer: it may or may not have arrived. Never sent again."""
        return cls(Outcome.UNCERTAIN, detail)


class Transport(Protocol):
    """One channel's delivery of outbox messages. Never raises for a delivery problem:
    it answers with a :class:`DeliveryOutcome` (an exception is read as ``uncertain``)."""

    @property
    def channel(self) -> str:
        """The channel this transport serves (``telegram``, ``wecom`` …)."""
        ...

    async def deliver(self, message: OutboundMessage) -> DeliveryOutcome:
        """Send one message (all its pieces) and say what became of it."""
        ...


# ---------------------------------------------------------------- pacing


class SendLimiter:
    """Paces sends: ``rate`` a second overall (strictly spaced), ``per_recipient`` seconds
    between two messages to one recipient, and a pause for everyone after flood control."""

    def __init__(
        self,
        rate: float,
        per_recipient: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = 1.0 / rate
        self.per_recipient = per_recipient
        self.clock = clock
        self.next_slot = 0.0
        self.paused_until = 0.0
        self.recipient_next: dict[object, float] = {}

    def pause(self, seconds: float) -> None:
        """Hold every send for ``seconds`` (the channel's ``retry_after``)."""
        self.paused_until = max(self.paused_until, self.clock() + seconds)

    async def acquire(self, recipient: object) -> None:
        """Wait for this recipient's turn, then for a global slot."""
        now = self.clock()
        start = max(now, self.recipient_next.get(recipient, 0.0))
        self.recipient_next[recipient] = start + self.per_recipient
        if len(self.recipient_next) > 50_000:
            self.recipient_next = {r: t for r, t in self.recipient_next.items() if t > now}
        if start > now:
            await asyncio.sleep(start - now)
        while True:
            now = self.clock()
            if now < self.paused_until:
                await asyncio.sleep(self.paused_until - now)
                continue
            slot = max(now, self.next_slot)
            self.next_slot = slot + self.interval
            if slot > now:
                await asyncio.sleep(slot - now)
            if self.clock() >= self.paused_until:
                return


# ---------------------------------------------------------------- the sender


@dataclass(frozen=True)
class OutboxPolicy:
    """How the sender paces, leases and retries (from the settings)."""

    rate_per_second: float = 30.0
    per_recipient_interval: float = 1.0
    lease_seconds: float = 120.0
    max_attempts: int = 5
    backoff_seconds: float = 30.0
    # Messages handed to the network but not yet recorded, per sender. A sender killed
    # mid-send leaves at most this many uncertain; without a bound, a slow database lets
    # answered-but-unrecorded messages pile up behind its commits.
    max_in_flight: int = 10


@dataclass
class DrainReport:
    """What one drain did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    blocked: int = 0
    uncertain: int = 0
    lost: int = 0  # rows whose lease another sender had taken over meanwhile
    references: dict[int, str | None] = field(default_factory=dict)  # delivery id → message id


def default_worker() -> str:
    """A name unique to this process and sender."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class OutboxSender:
    """Sends due outbox rows through the transports: a row is handed to the network at most
    once, and every row ends sent, failed, blocked or uncertain."""

    def __init__(
        self,
        engine: Engine | Callable[[], Engine],
        transports: Iterable[Transport],
        policy: OutboxPolicy,
        *,
        limiters: Mapping[str, SendLimiter] | None = None,
        worker: str | None = None,
        now: Callable[[], datetime] = utcnow,
        batch: int | None = None,
    ) -> None:
        self._engine = engine
        self.transports = {transport.channel: transport for transport in transports}
        self.policy = policy
        self.limiters = dict(limiters or {})
        for channel in self.transports:
            self.limiters.setdefault(
                channel, SendLimiter(policy.rate_per_second, policy.per_recipient_interval)
            )
        self.worker = worker or default_worker()
        self.now = now
        self.batch = batch or max(10, int(policy.rate_per_second * 2))
        self.lock = asyncio.Lock()
        self._in_flight: asyncio.Semaphore | None = None

    @property
    def engine(self) -> Engine:
        """The database (resolved on first use, so building a door does not touch it)."""
        if not isinstance(self._engine, Engine):
            self._engine = self._engine()
        return self._engine

    def _claim(self) -> list[DeliveryJob]:
        with session_scope(self.engine) as session:
            return outbox_store.claim_due(
                session=session,
                worker=self.worker,
                now=self.now(),
                lease=timedelta(seconds=self.policy.lease_seconds),
                limit=self.batch,
                channels=list(self.transports),
            )

    def _next_due(self) -> datetime | None:
        with session_scope(self.engine) as session:
            return outbox_store.next_due_at(session=session, channels=list(self.transports))

    async def drain(self, *, wait_for_retries: float = 0.0) -> DrainReport:
        """Send everything due; with ``wait_for_retries`` seconds, also wait for retries
        falling due within that time."""
        report = DrainReport()
        give_up = time.monotonic() + wait_for_retries
        async with self.lock:
            # One per drain: a semaphore belongs to the event loop it first waits on.
            self._in_flight = asyncio.Semaphore(self.policy.max_in_flight)
            while True:
                jobs = await asyncio.to_thread(self._claim)
                if not jobs:
                    due = await asyncio.to_thread(self._next_due)
                    if due is None or time.monotonic() >= give_up:
                        break
                    wait = (due - self.now()).total_seconds()
                    if time.monotonic() + wait > give_up:
                        break
                    await asyncio.sleep(max(wait, 0.01))
                    continue
                async with asyncio.TaskGroup() as group:
                    for job in jobs:
                        group.create_task(self._deliver(job, report))
        return report

    def _record(self, action: Callable[..., object], **kwargs: object) -> object:
        with session_scope(self.engine) as session:
            return action(session=session, worker=self.worker, **kwargs)

    async def _deliver(self, job: DeliveryJob, report: DrainReport) -> None:
        assert self._in_flight is not None
        async with self._in_flight:
            await self._deliver_one(job, report)

    async def _deliver_one(self, job: DeliveryJob, report: DrainReport) -> None:
        transport = self.transports[job.to.channel]
        await self.limiters[job.to.channel].acquire(job.to)
        # Committed before the network sees anything: from here on, a crash leaves the row
        # ``sending``, and it is settled as uncertain instead of being sent a second time.
        if not await asyncio.to_thread(
            self._record, outbox_store.mark_in_flight, delivery_id=job.id
        ):
            report.lost += 1
            logger.warning("delivery %s: lease lost before sending", job.id)
            return
        message = OutboundMessage(
            delivery_id=job.id,
            kind=job.kind,
            to=job.to,
            text=job.text,
            notice_id=job.notice_id,
            buttons=job.buttons,
            attempts=job.attempts,
        )
        try:
            outcome = await transport.deliver(message)
        except Exception as exc:  # a transport bug: whether it left is unknown
            logger.exception("delivery %s: the %s transport failed", job.id, job.to.channel)
            outcome = DeliveryOutcome.uncertain(f"{type(exc).__name__}: {exc}")
        await self._settle(job, outcome, report)

    async def _settle(
        self, job: DeliveryJob, outcome: DeliveryOutcome, report: DrainReport
    ) -> None:
        if outcome.outcome is Outcome.SENT:
            mine = await asyncio.to_thread(
                self._record,
                outbox_store.mark_sent,
                delivery_id=job.id,
                reference=outcome.reference,
                now=self.now(),
            )
            if mine:
                report.sent += 1
                report.references[job.id] = outcome.reference
            else:
                report.lost += 1
                logger.warning("delivery %s: lease lost before it was marked sent", job.id)
            return
        if outcome.outcome is Outcome.RETRY_LATER:
            await self._retry(job, outcome, report)
            return
        status = {
            Outcome.BLOCKED: DeliveryStatus.BLOCKED,
            Outcome.FAILED: DeliveryStatus.FAILED,
            Outcome.UNCERTAIN: DeliveryStatus.UNCERTAIN,
        }[outcome.outcome]
        logger.warning("delivery %s to %s: %s (%s)", job.id, job.to, status.value, outcome.detail)
        await self._finish(job, status, outcome.detail)
        if status is DeliveryStatus.BLOCKED:
            report.blocked += 1
        elif status is DeliveryStatus.FAILED:
            report.failed += 1
        else:
            report.uncertain += 1

    async def _finish(self, job: DeliveryJob, status: DeliveryStatus, detail: str) -> None:
        await asyncio.to_thread(
            self._record, outbox_store.mark_final, delivery_id=job.id, status=status, error=detail
        )

    async def _retry(self, job: DeliveryJob, outcome: DeliveryOutcome, report: DrainReport) -> None:
        attempts = job.attempts + (1 if outcome.counts else 0)
        if outcome.counts and attempts >= self.policy.max_attempts:
            logger.warning(
                "delivery %s failed after %d attempts: %s", job.id, attempts, outcome.detail
            )
            await self._finish(job, DeliveryStatus.FAILED, outcome.detail)
            report.failed += 1
            return
        if outcome.after >= 0:
            delay = outcome.after
            if not outcome.counts:
                self.limiters[job.to.channel].pause(delay)  # the channel's flow control
        else:
            delay = self.policy.backoff_seconds * 2 ** max(attempts - 1, 0)
        logger.info("delivery %s not taken (%s); retry in %.1fs", job.id, outcome.detail, delay)
        await asyncio.to_thread(
            self._record,
            outbox_store.mark_retry,
            delivery_id=job.id,
            next_attempt_at=self.now() + timedelta(seconds=delay),
            error=outcome.detail,
            counts=outcome.counts,
        )
        report.retried += 1
