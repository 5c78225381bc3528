"""``kpibot run``: every configured door (Telegram, WeCom) in one process."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from bot.cli.context import fail, reported_errors, services_of

logger = logging.getLogger(__name__)


def run_command(
    ctx: typer.Context,
    listen: Annotated[
        str | None, typer.Option("--listen", help="HTTP 服务监听地址（默认取 KPIBOT_LISTEN）")
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", help="HTTP 服务监听端口（默认取 KPIBOT_LISTEN）")
    ] = None,
    poll_interval: Annotated[float, typer.Option("--poll-interval", help="轮询间隔（秒）")] = 0.0,
) -> None:
    """Run every configured door until interrupted."""
    import asyncio

    from bot.run import Listen, NothingToRunError, configured_doors, needs_http, run_doors
    from bot.server import ServerStartError

    services = services_of(ctx)
    settings = services.settings
    with reported_errors():
        _ = services.engine  # an old schema stops here, before any door answers anyone
    logging.getLogger().setLevel(min(logging.getLogger().level, logging.INFO))
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its log lines carry the token
    try:
        doors = configured_doors(services, poll_interval=poll_interval)
    except NothingToRunError as exc:
        fail(str(exc))
    where = (
        Listen(listen or settings.listen_host, port or settings.listen_port)
        if needs_http(services)
        else None
    )
    try:
        asyncio.run(run_doors(doors, where))
    except ServerStartError as exc:
        fail(str(exc))
