"""``kpibot run``: every configured door in one process, one event loop, one HTTP server.

Telegram runs when ``KPIBOT_TELEGRAM_TOKEN`` is set (long polling, or its webhook on the
HTTP server when ``KPIBOT_WEBHOOK_URL`` is set), WeCom when its five settings are set, both
when both. The HTTP server (:mod:`bot.server`) listens on ``KPIBOT_LISTEN`` whenever a door
is reached over HTTP; a Telegram bot on long polling alone needs none.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from bot.server import HttpDoor, bind, build_http_app, make_server, serve, telegram_webhook_route
from bot.services import Services

if TYPE_CHECKING:
    from telegram.ext import Application

    from scoring.outbox import Transport

logger = logging.getLogger(__name__)


class NothingToRunError(Exception):
    """No door is configured; the message says what to set."""


@dataclass(frozen=True)
class Listen:
    """Where the HTTP server listens."""

    host: str
    port: int


def _telegram_door(services: Services, *, poll_interval: float) -> tuple[HttpDoor, Application]:  # type: ignore[type-arg]
    from telegram import Update

    from bot.telegram.app import build_application

    settings = services.settings
    application = build_application(services, schedule_notices=False)
    webhook_url = settings.webhook_url
    routes = []
    if webhook_url:
        if settings.webhook_secret is None:
            raise NothingToRunError("webhook 模式需要配置 KPIBOT_WEBHOOK_SECRET。")
        secret = settings.webhook_secret.get_secret_value()
        routes.append(telegram_webhook_route(application, urlparse(webhook_url).path, secret))

    async def start() -> None:
        await application.initialize()
        if application.post_init is not None:
            await application.post_init(application)
        if webhook_url:
            await application.bot.set_webhook(
                webhook_url, secret_token=secret, allowed_updates=Update.ALL_TYPES
            )
        else:
            assert application.updater is not None
            await application.updater.start_polling(
                poll_interval=poll_interval, allowed_updates=Update.ALL_TYPES
            )
        await application.start()

    async def stop() -> None:
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        await application.stop()
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)

    return HttpDoor("telegram", routes, start, stop), application


def _wecom_door(services: Services) -> tuple[HttpDoor, Transport]:
    from bot.core.notices import notice_buttons
    from bot.wecom.api import WecomClient
    from bot.wecom.app import WecomApp, api_config
    from bot.wecom.door import WecomDoor
    from bot.wecom.transport import WecomTransport

    def buttons(notice_id: int) -> list[tuple[str, str]]:
        return [(b.label, b.data) for row in notice_buttons(notice_id) for b in row]

    settings = services.settings
    client = WecomClient(api_config(settings))
    door = WecomDoor(services, client, markdown=settings.wecom_markdown)
    wecom = WecomApp.build(settings, services.engine, door.handle, client=client)

    async def start() -> None:
        await asyncio.to_thread(services.matcher)  # warm up before the first question
        await wecom.start()

    transport = WecomTransport(client, buttons, markdown=settings.wecom_markdown)
    return HttpDoor("wecom", wecom.routes(), start, wecom.stop), transport


def _notice_jobs(services: Services, transports: Sequence[Transport]) -> HttpDoor:
    """The notice jobs of this process: the monthly run, the follow-up, and the outbox drain
    through every door's transport, so each recipient is reached on the channel they bound."""
    from bot.notice_loop import NoticeLoop, drain_once, follow_up_once, run_due_month
    from scoring.outbox import OutboxSender

    settings = services.settings
    rectification = services.rectification
    sender = OutboxSender(
        lambda: services.engine, transports, services.outbox_policy(), now=services.now
    )

    async def monthly() -> bool:
        return await run_due_month(rectification)

    async def follow_up() -> bool:
        return await follow_up_once(rectification)

    async def drain() -> bool:
        await drain_once(rectification, sender)
        return False

    loop = NoticeLoop(
        monthly,
        follow_up,
        drain,
        at=settings.notice_time,
        zone=settings.zone,
        follow_up_seconds=settings.follow_up_interval_seconds,
        drain_seconds=settings.outbox_poll_seconds,
        now=services.now,
    )
    return HttpDoor("notices", (), loop.start, loop.stop)


def configured_doors(services: Services, *, poll_interval: float = 0.0) -> list[HttpDoor]:
    """The doors the settings ask for, in start order."""
    settings = services.settings
    doors: list[HttpDoor] = []
    transports: list[Transport] = []
    if settings.telegram_token is not None:
        from bot.telegram.transport import TelegramTransport

        door, application = _telegram_door(services, poll_interval=poll_interval)
        doors.append(door)
        transports.append(TelegramTransport(application.bot))
    if settings.wecom_configured:
        door, transport = _wecom_door(services)
        doors.append(door)
        transports.append(transport)
    if doors:
        doors.append(_notice_jobs(services, transports))  # started last, stopped first
    if not doors:
        partial = [] if settings.wecom_missing == _ALL_WECOM else settings.wecom_missing
        hint = f"（企业微信还缺少 {'、'.join(partial)}）" if partial else ""
        raise NothingToRunError(
            "未配置任何渠道：请设置 KPIBOT_TELEGRAM_TOKEN（Telegram），"
            f"或企业微信的 KPIBOT_WECOM_* 配置{hint}。"
        )
    return doors


_ALL_WECOM = [
    "KPIBOT_WECOM_CORP_ID",
    "KPIBOT_WECOM_AGENT_ID",
    "KPIBOT_WECOM_SECRET",
    "KPIBOT_WECOM_TOKEN",
    "KPIBOT_WECOM_AES_KEY",
]


async def run_doors(doors: Sequence[HttpDoor], listen: Listen | None) -> None:
    """Run the doors until SIGINT/SIGTERM: behind the HTTP server when one is needed."""
    if listen is not None:
        sock = bind(listen.host, listen.port)
        logger.info(
            "serving %s on %s:%d", ", ".join(d.name for d in doors), listen.host, listen.port
        )
        await serve(make_server(build_http_app(doors), listen.host, listen.port), sock)
        return
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    started: list[HttpDoor] = []
    try:
        for door in doors:
            await door.start()
            door.running = True
            started.append(door)
        logger.info("running %s", ", ".join(d.name for d in doors))
        await stop.wait()
    finally:
        for door in reversed(started):
            await door.stop()
            door.running = False


def needs_http(services: Services) -> bool:
    """Whether a configured door is reached over HTTP."""
    settings = services.settings
    return settings.wecom_configured or (
        settings.telegram_token is not None and bool(settings.webhook_url)
    )
