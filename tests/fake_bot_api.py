"""A tiny Bot API server on loopback for end-to-end tests of the real ``kpibot run``.

It answers the methods the bot calls, hands out queued user updates through ``getUpdates``
(long polling), and records everything the bot sends so that tests can wait for replies.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

BOT_USER = {"id": 42, "is_bot": True, "first_name": "绩效考评助手", "username": "kpibot_e2e_bot"}


@dataclass
class Sent:
    """One call the bot made."""

    method: str
    params: dict[str, Any]

    @property
    def text(self) -> str:
        """The text sent."""
        return str(self.params.get("text", ""))

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback data) of its inline keyboard."""
        markup = self.params.get("reply_markup")
        if not markup:
            return []
        return [(b["text"], b["callback_data"]) for row in markup["inline_keyboard"] for b in row]


class _Server(ThreadingHTTPServer):
    """Room for a bot's whole connection pool to connect at once."""

    request_queue_size = 128
    daemon_threads = True


class FakeBotApi:
    """The server and its state; use as a context manager."""

    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.updates: list[dict[str, Any]] = []
        self.sent: list[Sent] = []
        self.update_ids = itertools.count(1)
        self.message_ids = itertools.count(1)
        # Per-chat refusals of sendMessage: (HTTP status, error body), used up in order;
        # a blocked chat refuses forever.
        self.refusals: dict[int, list[tuple[int, dict[str, Any]]]] = {}
        self.blocked: set[int] = set()
        self.attempts: list[tuple[float, int]] = []  # (monotonic time, chat) of every sendMessage
        # Seconds a sendMessage waits after the message is recorded (so delivered) before it
        # is answered: a slow network or Bot API, which makes a client's read time out.
        self.latency = 0.0
        handler = self._handler()
        self.server = _Server(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """What to pass as ``KPIBOT_TELEGRAM_BASE_URL``."""
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/bot"

    def __enter__(self) -> FakeBotApi:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------ the user's side

    def _push(self, kind: str, payload: dict[str, Any]) -> None:
        with self.lock:
            self.updates.append({"update_id": next(self.update_ids), kind: payload})
            self.lock.notify_all()

    def push_raw(self, update: dict[str, Any]) -> int:
        """Any update as Telegram might send it (malformed too); its id is returned."""
        with self.lock:
            update_id = next(self.update_ids)
            self.updates.append({"update_id": update_id, **update})
            self.lock.notify_all()
        return update_id

    def say(self, user_id: int, text: str) -> None:
        """The user sends a text message in their private chat."""
        message: dict[str, Any] = {
            "message_id": next(self.message_ids),
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private"},
            "from": {"id": user_id, "is_bot": False, "first_name": "用户"},
            "text": text,
        }
        if text.startswith("/"):
            length = len(text.split()[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        self._push("message", message)

    def press(self, user_id: int, message: Sent, data: str) -> None:
        """The user presses a button on a message the bot sent."""
        self._push(
            "callback_query",
            {
                "id": str(next(self.message_ids)),
                "from": {"id": user_id, "is_bot": False, "first_name": "用户"},
                "chat_instance": "e2e",
                "data": data,
                "message": {
                    "message_id": int(message.params.get("message_id", 1)),
                    "date": int(time.time()),
                    "chat": {"id": user_id, "type": "private"},
                    "from": BOT_USER,
                    "text": message.text,
                },
            },
        )

    def wait_for(self, method: str, chat_id: int, start: int, timeout: float = 60.0) -> Sent:
        """The first ``method`` call to ``chat_id`` at index ≥ ``start`` of :attr:`sent`."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                for call in self.sent[start:]:
                    if call.method == method and str(call.params.get("chat_id")) == str(chat_id):
                        return call
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no {method} to {chat_id}; sent: {self.sent[start:]}")
                self.lock.wait(remaining)

    def mark(self) -> int:
        """An index into :attr:`sent`, to wait for what comes after it."""
        with self.lock:
            return len(self.sent)

    # ------------------------------------------------------------ refusals

    def block(self, chat_id: int) -> None:
        """The user blocked the bot: every sendMessage to them gets 403."""
        with self.lock:
            self.blocked.add(chat_id)

    def flood(self, chat_id: int, retry_after: int = 1, times: int = 1) -> None:
        """The next ``times`` sendMessage calls to the chat get 429 with ``retry_after``."""
        body = {
            "ok": False,
            "error_code": 429,
            "description": f"Too Many Requests: retry after {retry_after}",
            "parameters": {"retry_after": retry_after},
        }
        with self.lock:
            self.refusals.setdefault(chat_id, []).extend([(429, body)] * times)

    def _refusal(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        if method != "sendMessage":
            return None
        chat = int(params.get("chat_id", 0))
        with self.lock:
            self.attempts.append((time.monotonic(), chat))
            if chat in self.blocked:
                forbidden = "Forbidden: bot was blocked by the user"
                return 403, {"ok": False, "error_code": 403, "description": forbidden}
            queued = self.refusals.get(chat)
            if queued:
                return queued.pop(0)
        return None

    def count(self, method: str = "sendMessage") -> int:
        """How many ``method`` calls were taken (delivered)."""
        with self.lock:
            return sum(1 for c in self.sent if c.method == method)

    def sent_to(self, chat_id: int, method: str = "sendMessage") -> list[Sent]:
        """What the bot successfully sent to one chat."""
        with self.lock:
            return [
                c
                for c in self.sent
                if c.method == method and str(c.params.get("chat_id")) == str(chat_id)
            ]

    # ------------------------------------------------------------ the bot's side

    def _answer(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT_USER
        if method == "getUpdates":
            offset = int(params.get("offset", 0) or 0)
            wait = min(float(params.get("timeout", 0) or 0), 1.0)
            deadline = time.monotonic() + wait
            with self.lock:
                while True:
                    ready = [u for u in self.updates if u["update_id"] >= offset]
                    remaining = deadline - time.monotonic()
                    if ready or remaining <= 0:
                        return ready
                    self.lock.wait(remaining)
        with self.lock:
            self.sent.append(Sent(method, params))
            self.lock.notify_all()
        if method in ("sendMessage", "editMessageText"):
            return {
                "message_id": int(params.get("message_id") or next(self.message_ids)),
                "date": int(time.time()),
                "chat": {"id": int(params["chat_id"]), "type": "private"},
                "from": BOT_USER,
                "text": params.get("text", ""),
            }
        return True

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length).decode("utf-8")
                params: dict[str, Any] = {}
                if "json" in self.headers.get("Content-Type", ""):
                    params = json.loads(body or "{}")
                else:
                    for key, value in parse_qsl(body):
                        try:
                            params[key] = json.loads(value)
                        except ValueError:
                            params[key] = value
                method = self.path.rsplit("/", 1)[-1]
                status = 200
                refusal = api._refusal(method, params)
                if refusal is not None:
                    status, body_json = refusal
                    payload = json.dumps(body_json)
                else:
                    payload = json.dumps({"ok": True, "result": api._answer(method, params)})
                data = payload.encode("utf-8")
                if method == "sendMessage" and api.latency:
                    time.sleep(api.latency)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                # The bot may hang up a long poll while shutting down.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(data)

            def handle(self) -> None:
                # A client that timed out hangs up before the late answer: not an error.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    super().handle()

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        return Handler
