"""Rectification notices on Telegram: the jobs, the buttons and /notices.

The lifecycle is :mod:`scoring.rectification`; the outbox sender is
:mod:`scoring.outbox`, delivering through :class:`bot.telegram.transport.TelegramTransport`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from telegram import Bot, Message, Update
from telegram.constants import ParseMode
from telegram.ext import Application, ContextTypes
from telegram.ext.filters import MessageFilter

from bot.access import Caller, may_answer_notice
from bot.conversation import Reply
from bot.services import Services
from bot.settings import Settings
from bot.telegram.desk import desk_of
from bot.telegram.replies import answer_text, send
from bot.telegram.transport import ACK, MEASURES, TelegramTransport
from db.models import utcnow
from db.notices_store import telegram_address
from scoring.outbox import OutboxSender
from scoring.rectification import NoticeError, Rectification

logger = logging.getLogger(__name__)

NOTICES = "kpibot.notices"


def telegram_sender(
    bot: Bot, services: Services, *, now: Callable[[], datetime] = utcnow, **options: object
) -> OutboxSender:
    """The outbox sender of a process that delivers through this bot."""
    return OutboxSender(
        lambda: services.engine,
        [TelegramTransport(bot)],
        services.outbox_policy(),
        now=now,
        **options,  # type: ignore[arg-type]
    )


def _may_answer(caller: Caller) -> Callable[[str], bool]:
    return lambda unit_code: may_answer_notice(caller, unit_code)


# ---------------------------------------------------------------- the desk and its jobs


class MeasuresPrompts(MessageFilter):
    """Users who pressed 报送整改措施: their next text message is the measures."""

    def __init__(self) -> None:
        super().__init__(name="awaiting_measures")
        self.waiting: dict[int, int] = {}  # user id → notice id

    def filter(self, message: Message) -> bool:
        """Whether the message's author owes measures."""
        return message.from_user is not None and message.from_user.id in self.waiting


@dataclass
class NoticeDesk:
    """What the notice handlers and jobs share, kept in ``bot_data``."""

    rectification: Rectification
    sender: OutboxSender
    prompts: MeasuresPrompts
    settings: Settings


def build_notice_desk(
    application: Application,  # type: ignore[type-arg]
    services: Services,
    *,
    now: Callable[[], datetime] = utcnow,
) -> NoticeDesk:
    """The notice desk over the application's bot, stored in ``bot_data``."""
    desk = NoticeDesk(
        rectification=services.rectification(now=now),
        sender=telegram_sender(application.bot, services, now=now),
        prompts=MeasuresPrompts(),
        settings=services.settings,
    )
    application.bot_data[NOTICES] = desk
    return desk


def notice_desk(context: ContextTypes.DEFAULT_TYPE) -> NoticeDesk:
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


def _drain_soon(context: ContextTypes.DEFAULT_TYPE) -> None:
    if context.job_queue is not None:
        context.job_queue.run_once(drain_job, when=0.0, name="outbox-now")


async def monthly_job(context: ContextTypes.DEFAULT_TYPE) -> None:
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


async def drain_job(context: ContextTypes.DEFAULT_TYPE) -> None:
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


async def follow_up_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Queue reminders and escalations that have fallen due."""
    report = await asyncio.to_thread(notice_desk(context).rectification.follow_up)
    if report.reminders or report.escalations:
        logger.info(
            "follow-up: %d reminders, %d escalations",
            len(report.reminders),
            len(report.escalations),
        )
        _drain_soon(context)


# ---------------------------------------------------------------- handlers


async def notices_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show the office the digest of a month's notices (the month just ended by default)."""
    rectification = notice_desk(context).rectification
    try:
        month = (
            rectification.parse_month(" ".join(context.args))
            if context.args
            else rectification.default_month()
        )
    except NoticeError as exc:
        await answer_text(update, rectification.renderer.html("problem.html.j2", message=str(exc)))
        return
    digest = await asyncio.to_thread(rectification.digest, month)
    message = update.effective_message
    if message is not None:
        await send(message, Reply(rectification.digest_html(digest)))


async def notice_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """已阅 / 报送整改措施 under a notice."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    parts = query.data.split(":")
    if len(parts) != 3 or parts[1] not in (ACK, MEASURES) or not parts[2].isdigit():
        await query.answer("该按钮已失效。")
        return
    action, notice_id = parts[1], int(parts[2])
    desk = desk_of(context)
    notices = notice_desk(context)
    caller: Caller = await desk.run(desk.membership.caller, query.from_user.id)
    rectification = notices.rectification
    try:
        if action == ACK:
            answer = await desk.run(
                lambda: rectification.acknowledge(
                    notice_id,
                    user_id=query.from_user.id,
                    may_answer=_may_answer(caller),
                    address=telegram_address(query.from_user.id),
                )
            )
            await query.answer(answer, show_alert=True)
            return
        label = await desk.run(
            lambda: rectification.check_answerable(notice_id, may_answer=_may_answer(caller))
        )
    except NoticeError as exc:
        await query.answer(str(exc), show_alert=True)
        return
    notices.prompts.waiting[query.from_user.id] = notice_id
    await query.answer()
    chat = update.effective_chat
    if chat is not None:
        await context.bot.send_message(
            chat.id,
            rectification.renderer.html("notice_measures_prompt.html.j2", label=label),
            parse_mode=ParseMode.HTML,
        )


async def measures_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Store the text a liaison sent after pressing 报送整改措施, and confirm it."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None or not message.text:
        return
    notices = notice_desk(context)
    notice_id = notices.prompts.waiting.pop(user.id, None)
    if notice_id is None:
        return
    desk = desk_of(context)
    caller = await desk.run(desk.membership.caller, user.id)
    rectification = notices.rectification
    renderer = rectification.renderer
    text = message.text
    try:
        confirmation = await desk.run(
            lambda: rectification.store_measures(
                notice_id,
                text,
                user_id=user.id,
                may_answer=_may_answer(caller),
                address=telegram_address(user.id),
            )
        )
    except NoticeError as exc:
        await answer_text(update, renderer.html("problem.html.j2", message=str(exc)))
        return
    await send(message, Reply(confirmation))
    _drain_soon(context)
