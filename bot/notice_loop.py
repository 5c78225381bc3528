"""The notice jobs of a ``kpibot run`` process, on asyncio alone, for every door at once.

Telegram's job queue ran them while Telegram was the only door; a process serving only WeCom
(or both) needs them too, exactly once. Three loops: the monthly run (checked once at start,
to catch up, then daily at ``KPIBOT_NOTICE_TIME`` in the bureau's time zone), the follow-up
(reminders and escalations) every ``KPIBOT_FOLLOW_UP_INTERVAL_SECONDS``, and the outbox drain
every ``KPIBOT_OUTBOX_POLL_SECONDS`` (and at once after the others queued something). What
each step does is given in (``run_due_month``, ``follow_up_once``, ``drain_once``, also used by
the Telegram job queue of an ``Application`` that schedules its own notices); the loop only
keeps time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from scoring.outbox import DrainReport, OutboxSender
    from scoring.rectification import Rectification

logger = logging.getLogger(__name__)

Step = Callable[[], Awaitable[bool]]  # True when it queued messages (drain now)


async def run_due_month(rectification: Rectification) -> bool:
    """Issue last month's notices when today is their (possibly moved) run date; whether
    anything was queued."""
    from scoring.rectification import NoticeError

    month = await asyncio.to_thread(rectification.due_month)
    if month is None:
        return False
    try:
        report = await asyncio.to_thread(rectification.run_month, month, source="schedule")
    except NoticeError as exc:
        logger.warning("monthly notices for %s not issued: %s", month.code, exc)
        return False
    logger.info(
        "notices for %s: %d units, %d messages queued",
        month.code,
        len(report.notices),
        len(report.queued),
    )
    return bool(report.queued)


async def follow_up_once(rectification: Rectification) -> bool:
    """Reminders, escalations and late liaisons' notices; whether anything was queued."""
    report = await asyncio.to_thread(rectification.follow_up)
    if report.reminders or report.escalations or report.late_notices:
        logger.info(
            "follow-up: %d reminders, %d escalations, %d notices to new liaisons",
            len(report.reminders),
            len(report.escalations),
            len(report.late_notices),
        )
        return True
    return False


async def drain_once(rectification: Rectification, sender: OutboxSender) -> DrainReport | None:
    """Queue open notices to newly bound liaisons, then send what the outbox holds; one drain
    at a time (None when another is running)."""
    if sender.lock.locked():
        return None
    await asyncio.to_thread(rectification.deliver_to_new_liaisons)
    report = await sender.drain()
    if report.sent or report.failed or report.blocked or report.uncertain:
        logger.info(
            "outbox: %d sent, %d retried, %d failed, %d blocked, %d uncertain",
            report.sent,
            report.retried,
            report.failed,
            report.blocked,
            report.uncertain,
        )
    return report


def next_daily(now: datetime, at: time, zone: ZoneInfo) -> datetime:
    """The next moment after ``now`` that is ``at`` o'clock where the bureau is."""
    local = now.astimezone(zone)
    candidate = datetime.combine(local.date(), at, tzinfo=zone)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=zone)
    return candidate


@dataclass
class NoticeLoop:
    """Runs the monthly, follow-up and drain steps on their schedules until stopped."""

    monthly: Step
    follow_up: Step
    drain: Step
    at: time
    zone: ZoneInfo
    follow_up_seconds: float
    drain_seconds: float
    now: Callable[[], datetime]
    _wake: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list, init=False)

    def drain_soon(self) -> None:
        """Drain the outbox now rather than at the next poll."""
        self._wake.set()

    async def start(self) -> None:
        """Start the three loops (inside the running event loop)."""
        self._tasks = [
            asyncio.create_task(self._monthly_loop(), name="notices-monthly"),
            asyncio.create_task(self._every(self.follow_up, self.follow_up_seconds, "follow-up")),
            asyncio.create_task(self._drain_loop(), name="notices-outbox"),
        ]

    async def stop(self) -> None:
        """Stop the loops; a step in progress is cancelled (its rows stay leased or pending)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _step(self, step: Step, name: str) -> None:
        try:
            if await step():
                self.drain_soon()
        except Exception:
            logger.exception("notice job %s failed; it runs again on its schedule", name)

    async def _monthly_loop(self) -> None:
        await self._step(self.monthly, "monthly")  # catch up at start
        while True:
            wait = (next_daily(self.now(), self.at, self.zone) - self.now()).total_seconds()
            await asyncio.sleep(max(wait, 0.0))
            await self._step(self.monthly, "monthly")

    async def _every(self, step: Step, seconds: float, name: str) -> None:
        while True:
            await asyncio.sleep(seconds)
            await self._step(step, name)

    async def _drain_loop(self) -> None:
        while True:
            try:
                await self.drain()
            except Exception:
                logger.exception("outbox drain failed; it runs again at the next poll")
            # A wake-up that came during the drain is kept: what it announced may have been
            # queued after this drain claimed its rows.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.drain_seconds)
            self._wake.clear()
