"""WeCom's server API for the door: access token, ``message/send``, ``update_template_card``.

What a call's failure means decides what may be done next, so failures are typed:

- :class:`RecipientBlockedError`: the user is outside the app's visible range (可见范围),
  left the corp or is unlicensed (errcode 81013, or named in ``invaliduser``). Not retried.
- :class:`RateLimitedError`: a frequency limit (45009, 45033 …) or "system busy" (-1) that
  outlasted the back-off. WeCom did not take the message: it may be sent again later.
- :class:`WecomUnavailableError`: no connection could be made. Not sent: may be sent later.
- :class:`SendUncertainError`: the request left and no answer came (read timeout, dropped
  connection, a gateway error). The message may have arrived, so it is NEVER sent again by
  this client; the caller reports it as uncertain.
- :class:`TokenError`: ``gettoken`` refused the corp id or secret: a configuration problem.
- :class:`WecomApiError`: any other refusal (a malformed request). Not retried.

The access token is cached for its lifetime less a margin, fetched by one caller at a time,
and fetched again when WeCom says it is invalid or expired (40014, 42001, 40001). WeCom
silently drops messages past 30 a minute to one user, so sends are paced per user.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from aiolimiter import AsyncLimiter

from bot.wecom.split import MARKDOWN_LIMIT, TEXT_LIMIT, split_bytes

logger = logging.getLogger(__name__)

TOKEN_ERRORS = frozenset({40001, 40014, 42001})
RATE_ERRORS = frozenset({-1, 45009, 45011, 45033})
BLOCKED_ERRORS = frozenset({81013, 40031, 60111})
TOKEN_MARGIN_SECONDS = 300.0  # refresh this long before WeCom's expiry
PER_USER_MESSAGES = 30  # WeCom: at most 30 messages a minute from one app to one user
PER_USER_PERIOD = 60.0


class WecomApiError(Exception):
    """WeCom refused a call (errcode ≠ 0) for a reason that a retry does not fix."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"errcode {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


class TokenError(WecomApiError):
    """``gettoken`` refused the corp id or secret (40001, 40013 …): a configuration problem,
    which may be fixed while messages wait."""


class RecipientBlockedError(WecomApiError):
    """The recipient cannot be reached by this app (visible range, left, unlicensed)."""


class RateLimitedError(WecomApiError):
    """Frequency limits or a busy system outlasted the back-off; not taken, retry later."""


class WecomUnavailableError(Exception):
    """No connection to WeCom: the request never left."""


class SendUncertainError(Exception):
    """The request left but no answer came: it may have been delivered. Never re-send."""


@dataclass(frozen=True)
class Sent:
    """What ``message/send`` answered."""

    msgid: str
    response_code: str | None  # for update_template_card, one use, 72 hours


@dataclass(frozen=True)
class ApiConfig:
    """Who the app is and how patient to be."""

    base_url: str
    corp_id: str
    secret: str
    agent_id: int
    timeout: float = 10.0
    rate_limit_retries: int = 3
    backoff_seconds: float = 1.0
    connect_retries: int = 2
    per_user_messages: int = PER_USER_MESSAGES
    per_user_period: float = PER_USER_PERIOD


class WecomClient:
    """An async client of WeCom's API for one self-built app (自建应用)."""

    def __init__(
        self,
        config: ApiConfig,
        *,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.config = config
        self._http = http or httpx.AsyncClient(
            timeout=httpx.Timeout(config.timeout, connect=min(config.timeout, 5.0)),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
        )
        self._owns_http = http is None
        self._clock = clock
        self._sleep = sleep
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()
        self._per_user: dict[str, AsyncLimiter] = {}
        self.token_fetches = 0

    async def aclose(self) -> None:
        """Close the connection pool (if this client made it)."""
        if self._owns_http:
            await self._http.aclose()

    def _url(self, path: str) -> str:
        return f"{self.config.base_url.rstrip('/')}/cgi-bin/{path}"

    # ------------------------------------------------------------ access token

    async def access_token(self, *, stale: str | None = None) -> str:
        """A valid token; ``stale`` is one WeCom just refused, so a fresh one is fetched."""
        async with self._token_lock:
            fresh = self._token is not None and self._clock() < self._token_expires
            if fresh and self._token != stale:
                assert self._token is not None
                return self._token
            data = await self._get_with_retries(
                "gettoken", {"corpid": self.config.corp_id, "corpsecret": self.config.secret}
            )
            errcode = int(data.get("errcode", 0))
            if errcode != 0 or not data.get("access_token"):
                raise TokenError(errcode, str(data.get("errmsg", "")))
            token = str(data["access_token"])
            lifetime = float(data.get("expires_in", 7200))
            self._token = token
            self._token_expires = self._clock() + max(lifetime - TOKEN_MARGIN_SECONDS, lifetime / 2)
            self.token_fetches += 1
            logger.info("WeCom access token fetched (valid %.0fs)", lifetime)
            return token

    async def _get_with_retries(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        """A GET that is safe to repeat (fetching a token), retried on network failures."""
        delay = self.config.backoff_seconds
        for attempt in range(self.config.connect_retries + 1):
            try:
                response = await self._http.get(self._url(path), params=params)
                response.raise_for_status()
                return _json(response)
            except (httpx.TransportError, httpx.HTTPStatusError, ValueError) as exc:
                if attempt == self.config.connect_retries:
                    raise WecomUnavailableError(f"{path}: {type(exc).__name__}") from exc
                await self._sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    # ------------------------------------------------------------ calls

    async def call(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST ``payload`` to ``path`` with a token; WeCom's answer when errcode is 0.

        Refusals that leave the message untaken (an expired token, frequency limits, no
        connection) are retried here; a request whose answer is lost is never repeated.
        """
        token = await self.access_token()
        refreshed = False
        rate_retries = 0
        connect_retries = 0
        delay = self.config.backoff_seconds
        while True:
            try:
                data = await self._post_once(path, token, payload)
            except WecomUnavailableError:
                if connect_retries >= self.config.connect_retries:
                    raise
                connect_retries += 1
                await self._sleep(delay)
                delay *= 2
                continue
            errcode = int(data.get("errcode", 0))
            if errcode == 0:
                return data
            errmsg = str(data.get("errmsg", ""))
            if errcode in TOKEN_ERRORS and not refreshed:
                logger.info("WeCom refused the access token (%d); fetching a new one", errcode)
                token = await self.access_token(stale=token)
                refreshed = True
                continue
            if errcode in RATE_ERRORS:
                if rate_retries >= self.config.rate_limit_retries:
                    raise RateLimitedError(errcode, errmsg)
                rate_retries += 1
                logger.warning("WeCom frequency limit (%d); backing off %.1fs", errcode, delay)
                await self._sleep(delay)
                delay *= 2
                continue
            if errcode in BLOCKED_ERRORS:
                raise RecipientBlockedError(errcode, errmsg)
            raise WecomApiError(errcode, errmsg)

    async def _post_once(self, path: str, token: str, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await self._http.post(
                self._url(path), params={"access_token": token}, json=payload
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise WecomUnavailableError(f"{path}: {type(exc).__name__}") from exc
        except httpx.TransportError as exc:  # read/write timeout, dropped connection
            raise SendUncertainError(f"{path}: {type(exc).__name__}") from exc
        if response.status_code >= 500:
            raise SendUncertainError(f"{path}: HTTP {response.status_code}")
        if response.status_code != 200:
            raise WecomApiError(-response.status_code, f"HTTP {response.status_code}")
        try:
            return _json(response)
        except ValueError as exc:
            raise SendUncertainError(f"{path}: answer is not JSON") from exc

    # ------------------------------------------------------------ messages

    async def _pace(self, user_id: str) -> None:
        limiter = self._per_user.get(user_id)
        if limiter is None:
            if len(self._per_user) > 10_000:
                self._per_user.clear()
            limiter = self._per_user[user_id] = AsyncLimiter(
                self.config.per_user_messages, self.config.per_user_period
            )
        await limiter.acquire()

    async def send(self, user_id: str, msgtype: str, body: dict[str, Any]) -> Sent:
        """One message of ``msgtype`` to one user (paced per user)."""
        await self._pace(user_id)
        data = await self.call(
            "message/send",
            {
                "touser": user_id,
                "msgtype": msgtype,
                "agentid": self.config.agent_id,
                msgtype: body,
                "safe": 0,
            },
        )
        unreachable = {
            name
            for field in ("invaliduser", "unlicenseduser")
            for name in str(data.get(field) or "").split("|")
            if name
        }
        if user_id in unreachable:
            raise RecipientBlockedError(81013, f"{user_id} is not reachable by this app")
        response_code = data.get("response_code")
        return Sent(str(data.get("msgid", "")), str(response_code) if response_code else None)

    async def send_text(self, user_id: str, content: str) -> list[Sent]:
        """A text reply, in pieces of at most 2048 bytes."""
        return [
            await self.send(user_id, "text", {"content": piece})
            for piece in split_bytes(content, TEXT_LIMIT)
        ]

    async def send_markdown(self, user_id: str, content: str) -> list[Sent]:
        """A markdown reply, in pieces of at most 4096 bytes."""
        return [
            await self.send(user_id, "markdown", {"content": piece})
            for piece in split_bytes(content, MARKDOWN_LIMIT, markdown=True)
        ]

    async def send_template_card(self, user_id: str, card: dict[str, Any]) -> Sent:
        """A template card (``card_type`` button_interaction for buttons)."""
        return await self.send(user_id, "template_card", card)

    async def update_template_card(
        self,
        user_ids: list[str],
        response_code: str,
        *,
        replace_name: str | None = None,
        card: dict[str, Any] | None = None,
    ) -> None:
        """Change a card after a click: grey its buttons out with ``replace_name``, or
        replace it with ``card``. Each response_code may be used once, within 72 hours."""
        payload: dict[str, Any] = {
            "userids": user_ids,
            "agentid": self.config.agent_id,
            "response_code": response_code,
        }
        if card is not None:
            payload["template_card"] = card
        else:
            payload["button"] = {"replace_name": replace_name or "已处理"}
        await self.call("message/update_template_card", payload)


def _json(response: httpx.Response) -> dict[str, Any]:
    data = response.json()
    if not isinstance(data, dict):
        raise ValueError("WeCom answered JSON that is not an object")
    return data
