"""One HTTP server for every door reached over HTTP: WeCom's callback, Telegram's webhook.

Built as python-telegram-bot's custom-webhook example does it: our own ASGI app (Starlette)
served by uvicorn in the same event loop as the doors. Each door contributes routes and a
start/stop pair; the app's lifespan starts them in order before the first request is
accepted, and stops them in reverse when the server shuts down (SIGINT/SIGTERM). ``/healthz``
answers which doors are running.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import signal
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

if TYPE_CHECKING:
    import uvicorn
    from telegram.ext import Application

logger = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_TELEGRAM_UPDATE_BYTES = 1024 * 1024


async def _nothing() -> None:
    return None


@dataclass
class HttpDoor:
    """What a door adds to the server: routes, and how to start and stop it."""

    name: str
    routes: Sequence[BaseRoute] = ()
    start: Callable[[], Awaitable[None]] = _nothing
    stop: Callable[[], Awaitable[None]] = _nothing
    running: bool = field(default=False, init=False)


def build_http_app(doors: Sequence[HttpDoor]) -> Starlette:
    """The ASGI app: ``/healthz`` plus every door's routes, doors started by the lifespan."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        started: list[HttpDoor] = []
        try:
            for door in doors:
                await door.start()
                door.running = True
                started.append(door)
                logger.info("door %s started", door.name)
            yield
        finally:
            for door in reversed(started):
                try:
                    await door.stop()
                except Exception:
                    logger.exception("door %s did not stop cleanly", door.name)
                door.running = False

    async def health(_request: Request) -> Response:
        running = [door.name for door in doors if door.running]
        status = 200 if len(running) == len(doors) else 503
        state = "ok" if status == 200 else "starting"
        return JSONResponse({"status": state, "doors": running}, status)

    routes: list[BaseRoute] = [Route(HEALTH_PATH, health, methods=["GET"])]
    for door in doors:
        routes.extend(door.routes)
    return Starlette(routes=routes, lifespan=lifespan)


def telegram_webhook_route(
    application: Application,  # type: ignore[type-arg]
    path: str,
    secret: str,
) -> Route:
    """Telegram's webhook: the secret header checked, the update queued for the Application."""
    from telegram import Update

    expected = secret.encode("utf-8")

    async def webhook(request: Request) -> Response:
        given = request.headers.get(TELEGRAM_SECRET_HEADER, "").encode("utf-8")
        if not hmac.compare_digest(given, expected):
            logger.warning("Telegram webhook refused: wrong secret token")
            return PlainTextResponse("forbidden", status_code=403)
        body = await request.body()
        if len(body) > MAX_TELEGRAM_UPDATE_BYTES:
            return PlainTextResponse("too large", status_code=413)
        try:
            data: Any = json.loads(body)
            update = Update.de_json(data, application.bot)
        except Exception:
            # An update the bot cannot read is logged once and dropped: Telegram would only
            # send it again, and it must not hold up the others.
            logger.warning("Telegram webhook: an update that cannot be read was skipped")
            return Response(status_code=200)
        await application.update_queue.put(update)
        return Response(status_code=200)

    return Route(path if path.startswith("/") else f"/{path}", webhook, methods=["POST"])


def make_server(app: Starlette, host: str, port: int) -> uvicorn.Server:
    """A uvicorn server for ``app``, logging through kpibot's own logging set-up."""
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server without its signal handling: :func:`serve` installs its own, so
        that SIGINT and SIGTERM end the process cleanly (uvicorn re-raises the signal)."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="on",
        log_level="warning",
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=10,
    )
    return Server(config)


class ServerStartError(Exception):
    """The HTTP server could not start; the message is one sentence for the operator."""


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so that a busy port gets a plain sentence."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ServerStartError(
            f"无法在 {host}:{port} 上监听（{exc.strerror or exc}），"
            "请检查 KPIBOT_LISTEN 与端口占用。"
        ) from exc
    # Listening at once: connections made while the doors start (Telegram is told the webhook
    # URL during start-up) wait in the backlog instead of being refused.
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


async def serve(server: uvicorn.Server, sock: socket.socket, *, signals: bool = True) -> None:
    """Serve on ``sock`` until ``server.should_exit``: set by SIGINT or SIGTERM when
    ``signals`` (the process's own server), by the caller otherwise."""
    loop = asyncio.get_running_loop()
    handled = (signal.SIGINT, signal.SIGTERM) if signals else ()
    for signum in handled:
        loop.add_signal_handler(signum, setattr, server, "should_exit", True)
    try:
        await server.serve(sockets=[sock])
    except SystemExit as exc:  # uvicorn exits when the lifespan (a door) fails to start
        raise ServerStartError("有渠道未能启动，服务已停止；详情见日志。") from exc
    finally:
        for signum in handled:
            loop.remove_signal_handler(signum)
        sock.close()
