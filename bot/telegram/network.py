"""Talking to the Bot API: retries with backoff when the network fails."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

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
