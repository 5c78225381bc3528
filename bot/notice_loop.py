"""The notice jobs of a ``kpibot run`` process, on asyncio alone, for every door at once.

Telegram's job queue ran them while Telegram was the only door; a process serving only WeCom
(or both) needs them too, exactly once. Three loops: the monthly run (checked once at start,
to catch up, then daily at ``KPIBOT_NOTICE_TIME`` in the bureau's time zone), the follow-up
(reminders and escalations) every ``KPIBOT_FOLLOW_UP_INTERVAL_SECONDS``, and the outbox drain
every ``KPIBOT_OUTBOX_POLL_SECONDS`` (and at once after the others queued something). What
each step does is given in: this module only keeps time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

logger = logging.getLogger(__name__)

Step = Callable[[], Awaitable[bool]]  # True when it queued messages (drain now)


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
