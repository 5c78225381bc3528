"""Rectification notices on Telegram: the outbox sender, the jobs, the buttons and /notices.

The outbox sender claims due rows (:mod:`db.notices_store`), paces them under Telegram's
limits (about 30 messages a second overall, one a second per chat), and records each
outcome right after the Bot API call: sent, retried later (network trouble, flood control),
failed (attempts spent, or a request Telegram refuses) or blocked (the user blocked the bot).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from telegram import Bot, InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application

from bot.core.boundary import outgoing
from bot.core.notices import notice_buttons
from bot.core.reply import Reply
from bot.rectification import NoticeError, Rectification
from bot.services import Services
from bot.settings import Settings
from bot.telegram.door import BotContext, keyboard
from bot.telegram.split import split_html
from db import notices_store
from db.models import utcnow
from db.notices_store import DeliveryJob, DeliveryStatus
from db.session import session_scope

logger = logging.getLogger(__name__)

NOTICES = "kpibot.notices"


def notice_keyboard(notice_id: int) -> InlineKeyboardMarkup | None:
    """已阅 and 报送整改措施 under a notice or its reminder (the core's buttons)."""
    return keyboard(Reply("", notice_buttons(notice_id)))


# ---------------------------------------------------------------- pacing


class SendLimiter:
    """Paces sends: ``rate`` a second overall (strictly spaced), ``per_chat`` seconds between
    two messages to one chat, and a pause for everyone after a flood-control answer."""

    def __init__(
        self,
        rate: float,
        per_chat: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = 1.0 / rate
        self.per_chat = per_chat
        self.clock = clock
        self.next_slot = 0.0
        self.paused_until = 0.0
        self.chat_next: dict[int, float] = {}

    def pause(self, seconds: float) -> None:
        """Hold every send for ``seconds`` (Telegram's ``retry_after``)."""
        self.paused_until = max(self.paused_until, self.clock() + seconds)

    async def acquire(self, chat_id: int) -> None:
        """Wait for this chat's turn, then for a global slot."""
        now = self.clock()
        chat_start = max(now, self.chat_next.get(chat_id, 0.0))
        self.chat_next[chat_id] = chat_start + self.per_chat
        if len(self.chat_next) > 50_000:
            self.chat_next = {c: t for c, t in self.chat_next.items() if t > now}
        if chat_start > now:
            await asyncio.sleep(chat_start - now)
        while True:
            now = self.clock()
            if now < self.paused_until:
                await asyncio.sleep(self.paused_until - now)
                continue
            start = max(now, self.next_slot)
            self.next_slot = start + self.interval
            if start > now:
                await asyncio.sleep(start - now)
            if self.clock() >= self.paused_until:
                return


# ---------------------------------------------------------------- the outbox sender


@dataclass
class DrainReport:
    """What one drain did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    blocked: int = 0
    lost: int = 0  # sends whose lease another sender had taken over meanwhile
    message_ids: dict[int, int] = field(default_factory=dict)  # delivery id → message id


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class OutboxSender:
    """Sends due outbox rows through a bot, exactly once per row barring a crash between
    Telegram's answer and the commit right after it."""

    def __init__(
        self,
        bot: Bot,
        engine: Engine | Callable[[], Engine],
        settings: Settings,
        *,
        limiter: SendLimiter | None = None,
        worker: str | None = None,
        now: Callable[[], datetime] = utcnow,
        batch: int | None = None,
    ) -> None:
        self.bot = bot
        self._engine = engine
        self.settings = settings
        self.limiter = limiter or SendLimiter(
            settings.send_rate_per_second, settings.send_per_chat_interval
        )
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.now = now
        self.batch = batch or max(10, int(settings.send_rate_per_second * 2))
        self.lock = asyncio.Lock()

    @property
    def engine(self) -> Engine:
        """The database (resolved on first use, so building the bot does not touch it)."""
        if not isinstance(self._engine, Engine):
            self._engine = self._engine()
        return self._engine

    def _claim(self) -> list[DeliveryJob]:
        with session_scope(self.engine) as session:
            return notices_store.claim_due(
                session=session,
                worker=self.worker,
                now=self.now(),
                lease=timedelta(seconds=self.settings.send_lease_seconds),
                limit=self.batch,
            )

    def _next_due(self) -> datetime | None:
        with session_scope(self.engine) as session:
            return notices_store.next_due_at(session=session)

    async def drain(self, *, wait_for_retries: float = 0.0) -> DrainReport:
        """Send everything due; with ``wait_for_retries`` seconds, also wait for retries
        falling due within that time."""
        report = DrainReport()
        give_up = time.monotonic() + wait_for_retries
        async with self.lock:
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

    async def _send(self, job: DeliveryJob) -> Message:
        pieces = split_html(outgoing(job.text))
        markup = notice_keyboard(job.notice_id) if job.buttons and job.notice_id else None
        message: Message | None = None
        for number, piece in enumerate(pieces, start=1):
            message = await self.bot.send_message(
                job.chat_id,
                piece,
                parse_mode=ParseMode.HTML,
                reply_markup=markup if number == len(pieces) else None,
            )
        assert message is not None
        return message

    def _mark_sent(self, delivery_id: int, message_id: int) -> bool:
        with session_scope(self.engine) as session:
            return notices_store.mark_sent(
                session=session,
                delivery_id=delivery_id,
                worker=self.worker,
                message_id=message_id,
                now=self.now(),
            )

    def _record(self, action: Callable[..., object], **kwargs: object) -> None:
        with session_scope(self.engine) as session:
            action(session=session, worker=self.worker, **kwargs)

    async def _deliver(self, job: DeliveryJob, report: DrainReport) -> None:
        await self.limiter.acquire(job.chat_id)
        try:
            message = await self._send(job)
        except RetryAfter as exc:
            wait = _seconds(exc.retry_after)
            self.limiter.pause(wait)
            logger.warning("flood control on chat %s: retry in %.1fs", job.chat_id, wait)
            await asyncio.to_thread(
                self._record,
                notices_store.mark_retry,
                delivery_id=job.id,
                next_attempt_at=self.now() + timedelta(seconds=wait),
                error=str(exc),
                counts=False,
            )
            report.retried += 1
        except Forbidden as exc:
            logger.info("chat %s blocked the bot: delivery %s marked blocked", job.chat_id, job.id)
            await self._finish(job, DeliveryStatus.BLOCKED, exc)
            report.blocked += 1
        except BadRequest as exc:  # a request Telegram will never accept: no retry
            logger.warning("delivery %s refused by Telegram: %s", job.id, exc)
            await self._finish(job, DeliveryStatus.FAILED, exc)
            report.failed += 1
        except (NetworkError, TelegramError, OSError) as exc:
            await self._failed_attempt(job, report, exc)
        else:
            # Committed at once: between Telegram's answer and this commit is the only
            # window in which a crash makes the row go out twice.
            mine = await asyncio.to_thread(self._mark_sent, job.id, message.message_id)
            if mine:
                report.sent += 1
                report.message_ids[job.id] = message.message_id
            else:
                report.lost += 1
                logger.warning("delivery %s: lease lost before it was marked sent", job.id)

    async def _finish(self, job: DeliveryJob, status: DeliveryStatus, exc: Exception) -> None:
        """Record that a delivery will not be tried again, and why."""
        await asyncio.to_thread(
            self._record,
            notices_store.mark_final,
            delivery_id=job.id,
            status=status,
            error=str(exc),
        )

    async def _failed_attempt(self, job: DeliveryJob, report: DrainReport, exc: Exception) -> None:
        attempts = job.attempts + 1
        if attempts >= self.settings.send_max_attempts:
            logger.warning("delivery %s failed after %d attempts: %s", job.id, attempts, exc)
            await self._finish(job, DeliveryStatus.FAILED, exc)
            report.failed += 1
            return
        delay = self.settings.send_backoff_seconds * 2 ** (attempts - 1)
        logger.info(
            "delivery %s attempt %d failed (%s); retry in %.1fs", job.id, attempts, exc, delay
        )
        await asyncio.to_thread(
            self._record,
            notices_store.mark_retry,
            delivery_id=job.id,
            next_attempt_at=self.now() + timedelta(seconds=delay),
            error=str(exc),
            counts=True,
        )
        report.retried += 1


# ---------------------------------------------------------------- the desk and its jobs


@dataclass
class NoticeDesk:
    """What the notice handlers and jobs share, kept in ``bot_data``."""

    rectification: Rectification
    sender: OutboxSender


def build_notice_desk(application: Application, services: Services) -> NoticeDesk:  # type: ignore[type-arg]
    """The notice desk over the application's bot, stored in ``bot_data``."""
    desk = NoticeDesk(
        rectification=services.rectification,
        sender=OutboxSender(
            application.bot, lambda: services.engine, services.settings, now=services.now
        ),
    )
    application.bot_data[NOTICES] = desk
    return desk


def notice_desk(context: BotContext) -> NoticeDesk:
    """The notice desk stored at build time."""
    desk = context.bot_data[NOTICES]
    assert isinstance(desk, NoticeDesk)
    return desk


def schedule_notice_jobs(application: Application) -> None:  # type: ignore[type-arg]
    """The monthly run (daily check at the set time, and once at start-up to catch up),
    the outbox drain and the follow-up."""
    jobs = application.job_queue
    if jobs is None:  # pragma: no cover - the job-queue extra is a dependency
        logger.warning("no job queue: notices will not be scheduled")
        return
    settings: Settings = application.bot_data[NOTICES].rectification.settings
    at = settings.notice_time.replace(tzinfo=settings.zone)
    jobs.run_daily(monthly_job, time=at, name="notices-monthly")
    jobs.run_once(monthly_job, when=1.0, name="notices-catch-up")
    jobs.run_repeating(drain_job, interval=settings.outbox_poll_seconds, first=1.0, name="outbox")
    jobs.run_repeating(
        follow_up_job,
        interval=settings.follow_up_interval_seconds,
        first=min(settings.follow_up_interval_seconds, 60.0),
        name="notices-follow-up",
    )


def _drain_soon(context: BotContext) -> None:
    if context.job_queue is not None:
        context.job_queue.run_once(drain_job, when=0.0, name="outbox-now")  # type: ignore[arg-type]


async def monthly_job(context: BotContext) -> None:
    """Run last month's notices when today is their (possibly moved) run date."""
    desk = notice_desk(context)
    month = await asyncio.to_thread(desk.rectification.due_month)
    if month is None:
        return
    try:
        report = await asyncio.to_thread(desk.rectification.run_month, month, source="schedule")
    except NoticeError as exc:
        logger.warning("monthly notices for %s not issued: %s", month.code, exc)
        return
    logger.info(
        "notices for %s: %d units, %d messages queued",
        month.code,
        len(report.notices),
        len(report.queued),
    )
    _drain_soon(context)


async def drain_job(context: BotContext) -> None:
    """Send what the outbox holds (one drain at a time)."""
    sender = notice_desk(context).sender
    if sender.lock.locked():
        return
    report = await sender.drain()
    if report.sent or report.failed or report.blocked:
        logger.info(
            "outbox: %d sent, %d retried, %d failed, %d blocked",
            report.sent,
            report.retried,
            report.failed,
            report.blocked,
        )


async def follow_up_job(context: BotContext) -> None:
    """Queue reminders and escalations that have fallen due."""
    report = await asyncio.to_thread(notice_desk(context).rectification.follow_up)
    if report.reminders or report.escalations:
        logger.info(
            "follow-up: %d reminders, %d escalations",
            len(report.reminders),
            len(report.escalations),
        )
        _drain_soon(context)
