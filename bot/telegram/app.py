"""The composition root of the Telegram bot: the one place every handler is registered."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime

from telegram import BotCommandScopeDefault, Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.access import Audience, Caller
from bot.services import Services
from bot.telegram import handlers
from bot.telegram import notices as notice_handlers
from bot.telegram.commands import BY_NAME, menu_for
from bot.telegram.desk import DESK, Desk
from bot.telegram.guard import Callback, FloodGate, guarded
from bot.telegram.network import RetryingRequest
from db.models import utcnow

logger = logging.getLogger(__name__)


def _callbacks() -> dict[str, Callback]:
    return {
        "start": handlers.start,
        "help": handlers.help_command,
        "ask": handlers.ask,
        "indicator": handlers.indicator,
        "score": handlers.score,
        "why": handlers.why,
        "rank": handlers.rank,
        "add": handlers.add,
        "reverse": handlers.reverse,
        "invite": handlers.invite,
        "unanswered": handlers.unanswered,
        "notices": notice_handlers.notices_command,
    }


async def post_init(application: Application) -> None:  # type: ignore[type-arg]
    """Warm the services up and publish the command menu for anyone."""
    desk: Desk = application.bot_data[DESK]
    await desk.run(desk.services.matcher)
    await application.bot.set_my_commands(menu_for(Caller(None)), scope=BotCommandScopeDefault())


async def post_shutdown(application: Application) -> None:  # type: ignore[type-arg]
    """Close the database connections."""
    desk: Desk = application.bot_data[DESK]
    desk.services.close()


def build_application(
    services: Services,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    rate_limit: bool = True,
    flood_gate: FloodGate | None = None,
    today: Callable[[], date] = date.today,
    now: Callable[[], datetime] = utcnow,
) -> Application:  # type: ignore[type-arg]
    """The bot: settings from ``services``, every handler registered here, in order."""
    settings = services.settings
    if settings.telegram_token is None:
        raise ValueError("未配置 KPIBOT_TELEGRAM_TOKEN，无法启动机器人。")
    builder = (
        ApplicationBuilder()
        .token(settings.telegram_token.get_secret_value())
        .base_url(settings.telegram_base_url)
        .base_file_url(settings.telegram_base_file_url)
        .request(request or RetryingRequest(connection_pool_size=64))
        .get_updates_request(get_updates_request or RetryingRequest())
        .concurrent_updates(True)
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    # Outgoing calls stay under Telegram's flood limits; a RetryAfter is waited out.
    application = (
        builder.rate_limiter(AIORateLimiter(max_retries=3)).build()
        if rate_limit
        else builder.build()
    )
    application.bot_data[DESK] = Desk.build(services, today=today)
    notice_desk = notice_handlers.build_notice_desk(application, services, now=now)

    application.add_handler(TypeHandler(Update, flood_gate or FloodGate()), group=-1)
    for name, callback in _callbacks().items():
        spec = BY_NAME[name]
        application.add_handler(
            CommandHandler(name, guarded(name, spec.audience, callback), has_args=None)
        )
    application.add_handler(
        CallbackQueryHandler(notice_handlers.notice_button, pattern=r"^nt:(ack|m):\d+$")
    )
    application.add_handler(CallbackQueryHandler(handlers.button))
    # The text a liaison sends after pressing 报送整改措施 is the measures, not a question.
    application.add_handler(
        MessageHandler(
            filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE & notice_desk.prompts,
            notice_handlers.measures_text,
        )
    )
    application.add_handler(MessageHandler(filters.COMMAND, handlers.unknown_command))
    application.add_handler(
        MessageHandler(filters.TEXT & filters.ChatType.PRIVATE, handlers.question)
    )
    application.add_handler(
        MessageHandler(
            filters.TEXT & filters.ChatType.GROUPS & filters.Entity("mention"), handlers.question
        )
    )
    application.add_handler(
        MessageHandler(
            filters.Document.ALL & filters.ChatType.PRIVATE,
            guarded("upload", Audience.ADMIN, handlers.upload),
        )
    )
    application.add_handler(
        MessageHandler(filters.ChatType.PRIVATE & ~filters.TEXT, handlers.not_text)
    )
    notice_handlers.schedule_notice_jobs(application)
    application.add_error_handler(handlers.error_handler)
    return application
