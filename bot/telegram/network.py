"""Talking to the Bot API: retries with backoff when the network fails."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from telegram import Update
from telegram.error import NetworkError, TimedOut
from telegram.request import HTTPXRequest, RequestData

from bot.telegram.transport import never_left

logger = logging.getLogger(__name__)


class RetryingRequest(HTTPXRequest):
    """HTTPXRequest that retries a failed connection a few times, waiting longer each time.

    Only failures before the request left are retried (no connection). A timeout or a
    connection lost mid-request is not: the request may have reached Telegram, and a second
    send would duplicate the message.
    """

    def __init__(self, *args: Any, attempts: int = 4, backoff: float = 0.5, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.attempts = attempts
        self.backoff = backoff

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
        """Send, retrying network failures with exponential backoff."""
        delay = self.backoff
        for attempt in range(1, self.attempts + 1):
            try:
                return await super().do_request(
                    url,
                    method,
                    request_data,
                    read_timeout=read_timeout,
                    write_timeout=write_timeout,
                    connect_timeout=connect_timeout,
                    pool_timeout=pool_timeout,
                )
            except TimedOut:
                raise
            except NetworkError as exc:
                if attempt == self.attempts or not never_left(exc):
                    raise
                logger.warning("network error towards Telegram; retry %d in %.1fs", attempt, delay)
                await asyncio.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")


class UpdatesRequest(RetryingRequest):
    """The long-polling channel: an update the bot cannot read is logged once and skipped.

    python-telegram-bot parses a whole ``getUpdates`` batch at once; one update with a missing
    field or a wrong type fails the batch, and polling then asks for the same batch forever,
    answering nobody. Here each update is checked on its own, and one that cannot be read is
    replaced by an empty update with the same id, so that it is confirmed and never comes back.
    """

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
        """Fetch, then make every update of a ``getUpdates`` batch readable."""
        status, payload = await super().do_request(
            url,
            method,
            request_data,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
        )
        if status != 200 or not url.endswith("/getUpdates"):
            return status, payload
        return status, readable_updates(payload)


def readable_updates(payload: bytes) -> bytes:
    """A ``getUpdates`` answer with each unreadable update emptied (its id kept)."""
    try:
        answer = json.loads(payload)
        updates = answer["result"]
    except (ValueError, KeyError, TypeError):
        return payload  # not a batch of updates: python-telegram-bot reports it
    if not isinstance(updates, list):
        return payload
    answer["result"] = [_readable(update) for update in updates]
    return json.dumps(answer).encode()


def _readable(update: Any) -> Any:
    update_id = update.get("update_id") if isinstance(update, dict) else None
    if not isinstance(update_id, int):
        return update  # without an id it cannot be confirmed; python-telegram-bot reports it
    try:
        parsed = Update.de_json(update, None)
        problem = _wrong_type(parsed)
    except Exception as exc:  # any parsing failure: the update is unusable, whatever it is
        problem = f"{type(exc).__name__}: {exc}"
    if problem is None:
        return update
    logger.warning("update %d skipped, it cannot be read: %s", update_id, problem)
    return {"update_id": update_id}


def _wrong_type(update: Update | None) -> str | None:
    """What in a parsed update has a type the handlers do not expect, if anything."""
    if update is None:
        return "empty"
    message = update.effective_message
    if message is not None:
        if message.text is not None and not isinstance(message.text, str):
            return "message text is not a string"
        if not isinstance(message.chat.id, int):
            return "chat id is not a number"
    user = update.effective_user
    if user is not None and not isinstance(user.id, int):
        return "user id is not a number"
    query = update.callback_query
    if query is not None and query.data is not None and not isinstance(query.data, str):
        return "button data is not a string"
    return None
