"""Rectification notices on Telegram: the outbox sender over the Telegram transport, and
the jobs (monthly run, drain, follow-up).

The lifecycle is :mod:`scoring.rectification`; the sender is :mod:`scoring.outbox`,
delivering through :class:`bot.telegram.transport.TelegramTransport`. The buttons and
``/notices`` are core commands (:mod:`bot.core.notices`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from telegram import Bot
from telegram.ext import Application

from bot.services import Services
from bot.settings import Settings
from bot.telegram.door import BotContext
from bot.telegram.transport import TelegramTransport
from scoring.outbox import OutboxSender
from scoring.rectification import NoticeError, Rectification

logger = logging.getLogger(__name__)

NOTICES = "kpibot.notices"


def telegram_sender(
    bot: Bot,
    services: Services,
    *,
    now: Callable[[], datetime] | None = None,
    **options: Any,
) -> OutboxSender:
    """The outbox sender of a process that delivers through this bot."""
    return OutboxSender(
        lambda: services.engine,
        [TelegramTransport(bot)],
        services.outbox_policy(),
        now=now or services.now,
        **options,
    )


@dataclass
class NoticeDesk:
    """What the notice jobs share, kept in ``bot_data``."""

    rectification: Rectification
    sender: OutboxSender
    settings: Settings


def build_notice_desk(application: Application, services: Services) -> NoticeDesk:  # type: ignore[type-arg]
    """The notice desk over the application's bot, stored in ``bot_data``."""
    desk = NoticeDesk(
        rectification=services.rectification,
        sender=telegram_sender(application.bot, services),
        settings=services.settings,
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
    settings: Settings = application.bot_data[NOTICES].settings
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
    """Queue open notices to newly bound liaisons, then send what the outbox holds (one
    drain at a time)."""
    desk = notice_desk(context)
    if desk.sender.lock.locked():
        return
    await asyncio.to_thread(desk.rectification.deliver_to_new_liaisons)
    report = await desk.sender.drain()
    if report.sent or report.failed or report.blocked or report.uncertain:
        logger.info(
            "outbox: %d sent, %d retried, %d failed, %d blocked, %d uncertain",
            report.sent,
            report.retried,
            report.failed,
            report.blocked,
            report.uncertain,
        )


async def follow_up_job(context: BotContext) -> None:
    """Queue reminders and escalations that have fallen due."""
    report = await asyncio.to_thread(notice_desk(context).rectification.follow_up)
    if report.reminders or report.escalations or report.late_notices:
        logger.info(
            "follow-up: %d reminders, %d escalations, %d notices to new liaisons",
            len(report.reminders),
            len(report.escalations),
            len(report.late_notices),
        )
        _drain_soon(context)
