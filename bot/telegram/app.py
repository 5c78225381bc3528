"""The Telegram application: built from the composition root, every handler registered here."""

from __future__ import annotations

import asyncio
import logging

from telegram import BotCommandScopeDefault, Update
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.core.access import Caller
from bot.services import Services
from bot.telegram import door
from bot.telegram import notices as notice_jobs
from bot.telegram.guard import FloodGate
from bot.telegram.network import RetryingRequest, UpdatesRequest

logger = logging.getLogger(__name__)


async def post_init(application: Application) -> None:  # type: ignore[type-arg]
    """Warm the matcher up and publish the command menu for anyone."""
    services: Services = application.bot_data[door.SERVICES]
    dispatcher = services.dispatcher
    await asyncio.to_thread(services.matcher)
    await application.bot.set_my_commands(
        door.menu_for(dispatcher, Caller(door.CHANNEL, "")), scope=BotCommandScopeDefault()
    )


async def post_shutdown(application: Application) -> None:  # type: ignore[type-arg]
    """Close the database connections."""
    services: Services = application.bot_data[door.SERVICES]
    services.close()


def build_application(
    services: Services,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    rate_limit: bool = True,
    flood_gate: FloodGate | None = None,
    schedule_notices: bool = True,
) -> Application:  # type: ignore[type-arg]
    """The bot over ``services``: every handler registered here, in order."""
    settings = services.settings
    if settings.telegram_token is None:
        raise ValueError("未配置 KPIBOT_TELEGRAM_TOKEN，无法启动机器人。")
    builder = (
        ApplicationBuilder()
        .token(settings.telegram_token.get_secret_value())
        .base_url(settings.telegram_base_url)
        .base_file_url(settings.telegram_base_file_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML))
        .context_types(door.CONTEXT_TYPES)
        .request(request or RetryingRequest(connection_pool_size=64))
        .get_updates_request(get_updates_request or UpdatesRequest())
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
    application.bot_data[door.SERVICES] = services
    notice_jobs.build_notice_desk(application, services)

    new_messages = filters.UpdateType.MESSAGE  # an edited message is not asked again
    private = filters.ChatType.PRIVATE
    application.add_handler(TypeHandler(Update, flood_gate or FloodGate()), group=-1)
    application.add_handler(MessageHandler(new_messages & filters.COMMAND, door.on_command))
    application.add_handler(CallbackQueryHandler(door.on_press))
    application.add_handler(
        MessageHandler(
            new_messages & filters.TEXT & (private | filters.Entity("mention")), door.on_text
        )
    )
    application.add_handler(
        MessageHandler(new_messages & filters.Document.ALL & private, door.on_document)
    )
    application.add_handler(MessageHandler(new_messages & private & ~filters.TEXT, door.on_other))
    if schedule_notices:  # `kpibot run` schedules them itself, for every door (bot/run.py)
        notice_jobs.schedule_notice_jobs(application)
    application.add_error_handler(door.on_error)
    return application
