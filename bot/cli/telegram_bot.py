"""``kpibot run``: the Telegram bot, by long polling or (with a webhook URL) by webhook."""

from __future__ import annotations

import logging
from typing import Annotated
from urllib.parse import urlparse

import typer

from bot.cli.context import fail, services_of

logger = logging.getLogger(__name__)


def run_command(
    ctx: typer.Context,
    listen: Annotated[str, typer.Option("--listen", help="webhook 模式监听地址")] = "0.0.0.0",
    port: Annotated[int, typer.Option("--port", help="webhook 模式监听端口")] = 8443,
    poll_interval: Annotated[float, typer.Option("--poll-interval", help="轮询间隔（秒）")] = 0.0,
) -> None:
    """Run the Telegram bot until interrupted."""
    from telegram import Update

    from bot.telegram.app import build_application

    services = services_of(ctx)
    settings = services.settings
    if settings.telegram_token is None:
        fail("未配置 KPIBOT_TELEGRAM_TOKEN（机器人令牌），无法启动。")
    logging.getLogger().setLevel(min(logging.getLogger().level, logging.INFO))
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its log lines carry the token
    application = build_application(services)
    if settings.webhook_url:
        if settings.webhook_secret is None:
            fail("webhook 模式需要配置 KPIBOT_WEBHOOK_SECRET。")
        logger.info("starting in webhook mode")
        application.run_webhook(
            listen=listen,
            port=port,
            url_path=urlparse(settings.webhook_url).path.lstrip("/"),
            webhook_url=settings.webhook_url,
            secret_token=settings.webhook_secret.get_secret_value(),
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        logger.info("starting in polling mode")
        application.run_polling(poll_interval=poll_interval, allowed_updates=Update.ALL_TYPES)
