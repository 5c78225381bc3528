"""Driving the real Telegram ``Application`` offline, the way python-telegram-bot tests itself.

:class:`RecordingRequest` stands in for the HTTP layer: it answers the Bot API methods the bot
uses with plausible results, records every outgoing call, and refuses anything else, so a test
can never reach the network. Factories build the ``Update``s users would send.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from telegram import Bot, Update
from telegram.ext import Application
from telegram.request import BaseRequest, RequestData

from bot.services import Clock, Services
from bot.settings import Settings
from bot.telegram.app import build_application
from bot.telegram.guard import FloodGate
from db import rulebook_store, scoring_store
from db.scoring_store import UnitInfo
from knowledge.rulebook_files import read_rulebook
from tests.conftest import SAMPLE_RULEBOOK

TOKEN = "123456:TEST-TOKEN-offline"
BOT_ID = 123456
BOT_USERNAME = "kpibot_test_bot"
TODAY = date(2026, 3, 20)
UNITS = (
    UnitInfo("NB01", "第一税务所", "派出机构"),
    UnitInfo("NB02", "第二税务所", "派出机构"),
    UnitInfo("NB03", "第三税务所", "派出机构"),
    UnitInfo("GS01", "办公室", "股室"),
)
ANSWERING = frozenset(
    {"getMe", "sendMessage", "editMessageText", "answerCallbackQuery", "setMyCommands", "getFile"}
)


@dataclass
class Call:
    """One outgoing Bot API call."""

    method: str
    params: dict[str, Any]

    @property
    def text(self) -> str:
        """The text sent (messages) or shown (callback answers)."""
        return str(self.params.get("text", ""))

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback data) of the inline keyboard, row by row."""
        markup = self.params.get("reply_markup")
        if markup is None:
            return []
        if isinstance(markup, str):
            markup = json.loads(markup)
        return [(b["text"], b["callback_data"]) for row in markup["inline_keyboard"] for b in row]


@dataclass
class RecordingRequest(BaseRequest):
    """An offline Bot API: records calls, answers the known methods, fails on the rest."""

    calls: list[Call] = field(default_factory=list)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))
    files: dict[str, bytes] = field(default_factory=dict)  # file_id -> content users "uploaded"

    @property
    def read_timeout(self) -> float | None:
        """No timeouts offline."""
        return None

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        """Answer one call without any network."""
        name = url.rsplit("/", 1)[-1]
        if "/file/bot" in url:  # a download of a file a user sent
            return 200, self.files[name]
        params = dict(request_data.parameters) if request_data is not None else {}
        if name not in ANSWERING:
            raise AssertionError(f"unexpected Bot API call {name} (tests never reach the network)")
        if name != "getMe":
            self.calls.append(Call(name, params))
        return 200, json.dumps({"ok": True, "result": self.result(name, params)}).encode()

    def result(self, name: str, params: dict[str, Any]) -> Any:
        """A plausible result for a method."""
        if name == "getMe":
            return {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "绩效考评助手",
                "username": BOT_USERNAME,
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        if name in ("sendMessage", "editMessageText"):
            chat_id = int(params.get("chat_id", 1))
            return {
                "message_id": int(params.get("message_id", next(self.ids))),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "绩效考评助手"},
                "text": params.get("text", ""),
            }
        if name == "getFile":
            file_id = str(params["file_id"])
            return {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}",
                "file_size": len(self.files[file_id]),
                "file_path": f"documents/{file_id}",
            }
        return True

    def take(self) -> list[Call]:
        """The calls since the last take."""
        calls, self.calls = self.calls, []
        return calls


class Users:
    """Factories for the updates a user sends."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.update_ids = itertools.count(1)
        self.message_ids = itertools.count(1)

    def _base(self, user_id: int, chat_id: int | None) -> tuple[dict[str, Any], dict[str, Any]]:
        user = {"id": user_id, "is_bot": False, "first_name": "用户", "language_code": "zh-hans"}
        chat_id = user_id if chat_id is None else chat_id
        chat = {"id": chat_id, "type": "private" if chat_id > 0 else "group", "title": "群"}
        return user, chat

    def message(
        self, text: str | None, *, user_id: int = 501, chat_id: int | None = None, **extra: Any
    ) -> Update:
        """A text message (a command when it starts with ``/``), or ``extra`` content."""
        user, chat = self._base(user_id, chat_id)
        message: dict[str, Any] = {
            "message_id": next(self.message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": user,
            **extra,
        }
        if text is not None:
            message["text"] = text
            entities = []
            if text.startswith("/"):
                entities.append(
                    {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
                )
            mention = f"@{BOT_USERNAME}"
            if mention in text:
                entities.append(
                    {"type": "mention", "offset": text.index(mention), "length": len(mention)}
                )
            if entities:
                message["entities"] = entities
        update = Update.de_json({"update_id": next(self.update_ids), "message": message}, self.bot)
        assert update is not None
        return update

    def document(
        self, request: RecordingRequest, name: str, data: bytes, *, user_id: int, caption: str = ""
    ) -> Update:
        """A file sent to the bot (its bytes are served by ``request``)."""
        file_id = f"doc{next(self.message_ids)}"
        request.files[f"documents/{file_id}".rsplit("/", 1)[-1]] = data
        request.files[file_id] = data
        extra: dict[str, Any] = {
            "document": {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}",
                "file_name": name,
                "file_size": len(data),
            }
        }
        if caption:
            extra["caption"] = caption
        return self.message(None, user_id=user_id, **extra)

    def press(self, data: str, *, user_id: int = 501, message_id: int = 1) -> Update:
        """A press on an inline button of one of the bot's messages."""
        user, chat = self._base(user_id, None)
        payload = {
            "update_id": next(self.update_ids),
            "callback_query": {
                "id": str(next(self.update_ids)),
                "from": user,
                "chat_instance": "ci",
                "data": data,
                "message": {
                    "message_id": message_id,
                    "date": int(time.time()),
                    "chat": chat,
                    "from": {"id": BOT_ID, "is_bot": True, "first_name": "绩效考评助手"},
                    "text": "…",
                },
            },
        }
        update = Update.de_json(payload, self.bot)
        assert update is not None
        return update


def seed(services: Services) -> None:
    """The sample rulebook and four units in two groups."""
    with services.session() as session:
        rulebook_store.import_rulebook(
            session=session,
            rulebook=read_rulebook(SAMPLE_RULEBOOK),
            source=SAMPLE_RULEBOOK.name,
            imported_by="test",
        )
        scoring_store.upsert_units(session=session, units=list(UNITS))
    services.reload()


def make_application(
    database_url: str, request: RecordingRequest, *, flood_gate: FloodGate | None = None
) -> Application:  # type: ignore[type-arg]
    """The real Application, offline, on a seeded database."""
    settings = Settings(database_url=database_url, telegram_token=TOKEN)
    services = Services(settings, clock=Clock(settings.zone, pinned_today=lambda: TODAY))
    seed(services)
    return build_application(
        services,
        request=request,
        get_updates_request=request,
        rate_limit=False,
        flood_gate=flood_gate or FloodGate(limit=10_000),
    )
