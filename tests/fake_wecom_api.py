"""WeCom on loopback, both ways, for tests of the real door and the real ``kpibot run``.

:class:`FakeWecomApi` is the server API the door calls (``gettoken``, ``message/send``,
``message/update_template_card``). It records every call, can expire the tokens it issued,
put users outside the app's visible range, delay answers and answer with injected errors.

:class:`WecomUser` plays WeCom's side of the callback: it builds the XML a user's message or
card click produces, encrypts and signs it with the app's Token and EncodingAESKey, and POSTs
it to the door's callback URL, as WeCom does.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape

from bot.wecom.crypto import CallbackCrypto

CORP_ID = "ww-e2e-corp"
SECRET = "e2e-app-secret"
AGENT_ID = 1000002
TOKEN = "e2eCallbackToken"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


@dataclass
class Call:
    """One call the door made."""

    path: str  # gettoken | message/send | message/update_template_card
    payload: dict[str, Any]
    token: str | None
    at: float = field(default_factory=time.monotonic)
    accepted: bool = False  # answered errcode 0

    @property
    def to(self) -> str:
        """The recipient of a message/send."""
        return str(self.payload.get("touser", ""))

    @property
    def msgtype(self) -> str:
        """text | markdown | template_card."""
        return str(self.payload.get("msgtype", ""))

    @property
    def content(self) -> str:
        """The text of a text or markdown message, the titles and texts of a card."""
        if self.msgtype in ("text", "markdown"):
            return str(self.payload[self.msgtype]["content"])
        card = self.payload.get("template_card") or {}
        parts = [
            str(card.get("main_title", {}).get("title", "")),
            str(card.get("main_title", {}).get("desc", "")),
            str(card.get("sub_title_text", "")),
        ]
        return "\n".join(part for part in parts if part)

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(text, key) of a template card's buttons."""
        card = self.payload.get("template_card") or {}
        return [(str(b["text"]), str(b["key"])) for b in card.get("button_list", [])]

    @property
    def task_id(self) -> str:
        """The task id of a template card."""
        return str((self.payload.get("template_card") or {}).get("task_id", ""))


class _Server(ThreadingHTTPServer):
    request_queue_size = 128
    daemon_threads = True


class FakeWecomApi:
    """The server and its state; use as a context manager."""

    def __init__(self, *, corp_id: str = CORP_ID, secret: str = SECRET) -> None:
        self.corp_id = corp_id
        self.secret = secret
        self.lock = threading.Condition()
        self.calls: list[Call] = []
        self.tokens: dict[str, float] = {}  # token → monotonic expiry
        self.token_lifetime = 7200
        self.outside: set[str] = set()  # users outside the app's visible range
        self.errors: dict[str, list[dict[str, Any]]] = {}  # path → answers used up in order
        self.latency: dict[str, float] = {}  # path → seconds before answering
        self.drop: dict[str, int] = {}  # path → calls whose connection is closed, no answer
        self.response_codes: dict[str, str] = {}  # response_code → recipient
        self.used_codes: set[str] = set()
        self._ids = itertools.count(1)
        self.server = _Server(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        """What to pass as ``KPIBOT_WECOM_BASE_URL``."""
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeWecomApi:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------ what tests arrange

    def expire_tokens(self) -> None:
        """Every token issued so far expires now (the next call with one gets 42001)."""
        with self.lock:
            self.tokens = dict.fromkeys(self.tokens, 0.0)

    def fail_next(self, path: str, errcode: int, errmsg: str = "injected", times: int = 1) -> None:
        """The next ``times`` calls of ``path`` answer ``errcode``."""
        with self.lock:
            answer = {"errcode": errcode, "errmsg": errmsg}
            self.errors.setdefault(path, []).extend([answer] * times)

    def answer_next(self, path: str, answer: dict[str, Any]) -> None:
        """The next call of ``path`` gets exactly ``answer`` (recorded as not accepted)."""
        with self.lock:
            self.errors.setdefault(path, []).append(answer)

    def hang_up_next(self, path: str, times: int = 1) -> None:
        """The next ``times`` calls of ``path`` are recorded, then the connection is closed."""
        with self.lock:
            self.drop[path] = self.drop.get(path, 0) + times

    def slow_down(self, path: str, seconds: float) -> None:
        """Answer ``path`` only after ``seconds``."""
        with self.lock:
            self.latency[path] = seconds

    # ------------------------------------------------------------ what tests read

    def mark(self) -> int:
        """An index into :attr:`calls`, to wait for what comes after it."""
        with self.lock:
            return len(self.calls)

    def sent(self, user_id: str | None = None, start: int = 0) -> list[Call]:
        """Messages sent (answered errcode 0), optionally to one user, from index ``start``."""
        with self.lock:
            return [
                c
                for c in self.calls[start:]
                if c.path == "message/send" and c.accepted and (user_id is None or c.to == user_id)
            ]

    def wait_for(
        self,
        user_id: str,
        start: int,
        *,
        path: str = "message/send",
        count: int = 1,
        timeout: float = 20.0,
    ) -> list[Call]:
        """The first ``count`` accepted calls of ``path`` for ``user_id`` after ``start``."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                found = [
                    c
                    for c in self.calls[start:]
                    if c.path == path
                    and c.accepted
                    and (c.to == user_id or user_id in c.payload.get("userids", []))
                ]
                if len(found) >= count:
                    return found[:count]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no {count}× {path} to {user_id}: {self.calls[start:]}")
                self.lock.wait(remaining)

    # ------------------------------------------------------------ the API

    def _token_error(self, token: str | None) -> dict[str, Any] | None:
        if token is None or token not in self.tokens:
            return {"errcode": 40014, "errmsg": "invalid access_token"}
        if self.tokens[token] <= time.monotonic():
            return {"errcode": 42001, "errmsg": "access_token expired"}
        return None

    def _answer(self, path: str, params: dict[str, str], payload: dict[str, Any]) -> Any:
        token = params.get("access_token")
        call = Call(path, payload, token)
        with self.lock:
            self.calls.append(call)
            self.lock.notify_all()
            if self.drop.get(path):
                self.drop[path] -= 1
                return None
            queued = self.errors.get(path)
            if queued:
                return queued.pop(0)
            if path == "gettoken":
                if params.get("corpid") != self.corp_id or params.get("corpsecret") != self.secret:
                    return {"errcode": 40001, "errmsg": "invalid credential"}
                new = f"tok-{next(self._ids)}"
                self.tokens[new] = time.monotonic() + self.token_lifetime
                call.accepted = True
                return {
                    "errcode": 0,
                    "errmsg": "ok",
                    "access_token": new,
                    "expires_in": self.token_lifetime,
                }
            refused = self._token_error(token)
            if refused is not None:
                return refused
            if path == "message/send":
                return self._send(call)
            if path == "message/update_template_card":
                return self._update(call)
        return {"errcode": 404, "errmsg": f"unknown path {path}"}

    def _send(self, call: Call) -> dict[str, Any]:
        to = call.to
        if to in self.outside:
            return {
                "errcode": 81013,
                "errmsg": "user & party & tag all invalid",
                "invaliduser": to,
            }
        if int(call.payload.get("agentid", 0)) != AGENT_ID:
            return {"errcode": 40056, "errmsg": "invalid agentid"}
        call.accepted = True
        self.lock.notify_all()
        answer: dict[str, Any] = {
            "errcode": 0,
            "errmsg": "ok",
            "invaliduser": "",
            "msgid": f"msg-{next(self._ids)}",
        }
        if call.msgtype == "template_card":
            code = f"rc-{next(self._ids)}"
            self.response_codes[code] = to
            answer["response_code"] = code
        return answer

    def _update(self, call: Call) -> dict[str, Any]:
        code = str(call.payload.get("response_code", ""))
        if code not in self.response_codes or code in self.used_codes:
            return {"errcode": 40058, "errmsg": "invalid response_code"}
        self.used_codes.add(code)
        call.accepted = True
        self.lock.notify_all()
        return {"errcode": 0, "errmsg": "ok", "invaliduser": []}

    def issue_response_code(self, user_id: str) -> str:
        """A response code as a card click carries it (one use)."""
        with self.lock:
            code = f"rc-{next(self._ids)}"
            self.response_codes[code] = user_id
            return code

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self, payload: dict[str, Any]) -> None:
                parsed = urllib.parse.urlsplit(self.path)
                path = parsed.path.removeprefix("/cgi-bin/")
                params = dict(urllib.parse.parse_qsl(parsed.query))
                answer = api._answer(path, params, payload)
                delay = api.latency.get(path, 0.0)
                if delay:
                    time.sleep(delay)
                if answer is None:
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(2)
                    return
                data = json.dumps(answer, ensure_ascii=False).encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(data)

            def do_GET(self) -> None:
                self._serve({})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                self._serve(json.loads(self.rfile.read(length) or b"{}"))

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        return Handler


# ---------------------------------------------------------------- WeCom's side of the callback


class WecomUser:
    """Posts what WeCom would post to the door's callback URL when users act."""

    def __init__(
        self,
        callback_url: str,
        *,
        token: str = TOKEN,
        aes_key: str = AES_KEY,
        corp_id: str = CORP_ID,
        agent_id: int = AGENT_ID,
    ) -> None:
        self.callback_url = callback_url
        self.crypto = CallbackCrypto(token, aes_key, corp_id)
        self.corp_id = corp_id
        self.agent_id = agent_id
        self._ids = itertools.count(int(time.time() * 1000))

    def text_xml(self, user_id: str, content: str, msg_id: str | None = None) -> str:
        """The plain XML of a text message."""
        return (
            f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName>"
            f"<FromUserName><![CDATA[{user_id}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime>"
            "<MsgType><![CDATA[text]]></MsgType>"
            f"<Content>{escape(content)}</Content>"
            f"<MsgId>{msg_id or next(self._ids)}</MsgId>"
            f"<AgentID>{self.agent_id}</AgentID></xml>"
        )

    def click_xml(self, user_id: str, event_key: str, task_id: str, response_code: str) -> str:
        """The plain XML of a template-card button click."""
        return (
            f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName>"
            f"<FromUserName><![CDATA[{user_id}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime>"
            "<MsgType><![CDATA[event]]></MsgType>"
            "<Event><![CDATA[template_card_event]]></Event>"
            f"<EventKey><![CDATA[{event_key}]]></EventKey>"
            f"<TaskId><![CDATA[{task_id}]]></TaskId>"
            "<CardType><![CDATA[button_interaction]]></CardType>"
            f"<ResponseCode><![CDATA[{response_code}]]></ResponseCode>"
            f"<AgentID>{self.agent_id}</AgentID></xml>"
        )

    def sealed_body(self, plain_xml: str, *, timestamp: int | None = None) -> tuple[str, bytes]:
        """(query string, body) of a signed, encrypted callback."""
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        sealed = self.crypto.seal(plain_xml, stamp, str(next(self._ids)))
        query = urllib.parse.urlencode(
            {"msg_signature": sealed.msg_signature, "timestamp": stamp, "nonce": sealed.nonce}
        )
        body = (
            f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName>"
            f"<Encrypt><![CDATA[{sealed.ciphertext}]]></Encrypt>"
            f"<AgentID><![CDATA[{self.agent_id}]]></AgentID></xml>"
        ).encode()
        return query, body

    def post(self, query: str, body: bytes) -> tuple[int, str]:
        """POST a callback; (status, body) of the door's answer."""
        request = urllib.request.Request(
            f"{self.callback_url}?{query}",
            data=body,
            headers={"Content-Type": "text/xml"},
            method="POST",
        )
        return _open(request)

    def say(self, user_id: str, content: str) -> tuple[int, str]:
        """A user sends a text message."""
        return self.post(*self.sealed_body(self.text_xml(user_id, content)))

    def click(
        self, user_id: str, event_key: str, task_id: str, response_code: str = "rc-none"
    ) -> tuple[int, str]:
        """A user presses a button of a template card."""
        return self.post(
            *self.sealed_body(self.click_xml(user_id, event_key, task_id, response_code))
        )

    def verify_url(self, echo: str, *, timestamp: int | None = None) -> tuple[int, str]:
        """WeCom's URL verification, as the admin console runs it when the URL is saved."""
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        sealed = self.crypto.seal(echo, stamp, str(next(self._ids)))
        query = urllib.parse.urlencode(
            {
                "msg_signature": sealed.msg_signature,
                "timestamp": stamp,
                "nonce": sealed.nonce,
                "echostr": sealed.ciphertext,
            }
        )
        return _open(urllib.request.Request(f"{self.callback_url}?{query}"))


def _open(request: urllib.request.Request) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode("utf-8")
