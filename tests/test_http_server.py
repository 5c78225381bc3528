"""One HTTP server on loopback serving WeCom's callback, Telegram's webhook and a health check."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.engine import Engine
from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

from bot.server import (
    HttpDoor,
    ServerStartError,
    bind,
    build_http_app,
    make_server,
    serve,
    telegram_webhook_route,
)
from bot.settings import Settings
from bot.wecom.app import WecomApp
from bot.wecom.messages import Inbound, TextMessage
from tests.fake_bot_api import FakeBotApi
from tests.fake_wecom_api import AES_KEY, AGENT_ID, CORP_ID, SECRET, TOKEN, FakeWecomApi, WecomUser

HOOK_SECRET = "hook-secret"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wecom_settings(database_url: str, base_url: str, port: int) -> Settings:
    return Settings(
        database_url=database_url,
        listen=f"127.0.0.1:{port}",
        wecom_corp_id=CORP_ID,
        wecom_agent_id=AGENT_ID,
        wecom_secret=SECRET,
        wecom_token=TOKEN,
        wecom_aes_key=AES_KEY,
        wecom_base_url=base_url,
    )


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Telegram side of the test: echo the text."""
    assert update.effective_chat is not None
    assert update.effective_message is not None
    await context.bot.send_message(
        update.effective_chat.id, f"收到：{update.effective_message.text}"
    )


async def wait_healthy(base: str) -> dict[str, object]:
    async with httpx.AsyncClient() as http:
        for _ in range(500):
            try:
                answer = await http.get(f"{base}/healthz")
                if answer.status_code == 200:
                    return dict(answer.json())
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.01)
    raise AssertionError("the server never became healthy")


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeWecomApi, FakeBotApi]]:
    with FakeWecomApi() as wecom_api, FakeBotApi() as bot_api:
        yield wecom_api, bot_api


async def test_both_doors_behind_one_server(
    engine: Engine, database_url: str, fakes: tuple[FakeWecomApi, FakeBotApi]
) -> None:
    wecom_api, bot_api = fakes
    port = free_port()
    settings = wecom_settings(database_url, wecom_api.base_url, port)
    wecom_holder: list[WecomApp] = []

    async def reply(message: Inbound) -> None:
        assert isinstance(message, TextMessage)
        await wecom_holder[0].client.send_text(message.user_id, f"收到：{message.content}")

    wecom = WecomApp.build(settings, engine, reply)
    wecom_holder.append(wecom)
    telegram: Application = (  # type: ignore[type-arg]
        ApplicationBuilder().token("4242:TOKEN").base_url(bot_api.base_url).updater(None).build()
    )
    telegram.add_handler(MessageHandler(filters.TEXT, echo))

    async def start_telegram() -> None:
        await telegram.initialize()
        await telegram.start()

    async def stop_telegram() -> None:
        await telegram.stop()
        await telegram.shutdown()

    doors = [
        HttpDoor("wecom", wecom.routes(), wecom.start, wecom.stop),
        HttpDoor(
            "telegram",
            [telegram_webhook_route(telegram, "/telegram/hook", HOOK_SECRET)],
            start_telegram,
            stop_telegram,
        ),
    ]
    server = make_server(build_http_app(doors), "127.0.0.1", port)
    task = asyncio.create_task(serve(server, bind("127.0.0.1", port), signals=False))
    base = f"http://127.0.0.1:{port}"
    try:
        assert await wait_healthy(base) == {"status": "ok", "doors": ["wecom", "telegram"]}
        user = WecomUser(f"{base}/wecom/callback")
        assert await asyncio.to_thread(user.verify_url, "5517") == (200, "5517")
        mark = wecom_api.mark()
        assert await asyncio.to_thread(user.say, "zhangsan", "你好") == (200, "")
        reply_call = await asyncio.to_thread(wecom_api.wait_for, "zhangsan", mark)
        assert reply_call[0].content == "收到：你好"

        update = {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": 7, "type": "private"},
                "from": {"id": 7, "is_bot": False, "first_name": "用户"},
                "text": "您好",
            },
        }
        async with httpx.AsyncClient() as http:
            refused = await http.post(
                f"{base}/telegram/hook",
                content=json.dumps(update),
                headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"},
            )
            assert refused.status_code == 403
            accepted = await http.post(
                f"{base}/telegram/hook",
                content=json.dumps(update),
                headers={"X-Telegram-Bot-Api-Secret-Token": HOOK_SECRET},
            )
            assert accepted.status_code == 200
        sent = await asyncio.to_thread(bot_api.wait_for, "sendMessage", 7, 0)
        assert sent.text == "收到：您好"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)
    assert [door.running for door in doors] == [False, False]


def test_a_busy_port_gets_one_plain_sentence() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ServerStartError, match=f"无法在 127.0.0.1:{port} 上监听"):
            bind("127.0.0.1", port)
