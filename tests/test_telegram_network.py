"""Retries towards the Bot API: network failures are retried with backoff, timeouts are not."""

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest
from telegram.error import NetworkError, TimedOut
from telegram.request import HTTPXRequest

from bot.telegram.network import RetryingRequest


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_connection_refused_is_retried_then_raised(caplog: pytest.LogCaptureFixture) -> None:
    request = RetryingRequest(attempts=3, backoff=0.01)
    await request.initialize()
    try:
        with pytest.raises(NetworkError):
            await request.do_request(f"http://127.0.0.1:{closed_port()}/bot1:x/getMe", "POST")
    finally:
        await request.shutdown()
    retries = [r for r in caplog.records if "network error towards Telegram" in r.getMessage()]
    assert len(retries) == 2  # three attempts: two waits


class Flaky(RetryingRequest):
    """Fails the first ``failures`` attempts with ``error``, then succeeds."""

    def __init__(self, failures: int, error: Exception) -> None:
        super().__init__(attempts=4, backoff=0.01)
        self.failures = failures
        self.error = error
        self.tries = 0


def _refused() -> NetworkError:
    error = NetworkError("httpx.ConnectError: connection refused")
    error.__cause__ = httpx.ConnectError("connection refused")
    return error


async def test_failed_connections_are_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    flaky = Flaky(2, _refused())

    async def lower(self: Any, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        flaky.tries += 1
        if flaky.tries <= flaky.failures:
            raise flaky.error
        return 200, b'{"ok": true, "result": true}'

    monkeypatch.setattr(HTTPXRequest, "do_request", lower)
    assert await flaky.do_request("http://127.0.0.1/bot1:x/getMe", "POST") == (
        200,
        b'{"ok": true, "result": true}',
    )
    assert flaky.tries == 3


async def test_a_connection_lost_mid_request_is_not_retried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lost = NetworkError("httpx.ReadError: connection reset")
    lost.__cause__ = httpx.ReadError("connection reset")
    flaky = Flaky(5, lost)

    async def lower(self: Any, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        flaky.tries += 1
        raise flaky.error

    monkeypatch.setattr(HTTPXRequest, "do_request", lower)
    with pytest.raises(NetworkError):
        await flaky.do_request("http://127.0.0.1/bot1:x/sendMessage", "POST")
    assert flaky.tries == 1  # the request may have arrived: a second one could duplicate it


async def test_timeouts_are_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    flaky = Flaky(5, TimedOut())

    async def lower(self: Any, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        flaky.tries += 1
        raise flaky.error

    monkeypatch.setattr(HTTPXRequest, "do_request", lower)
    with pytest.raises(TimedOut):
        await flaky.do_request("http://127.0.0.1/bot1:x/sendMessage", "POST")
    assert flaky.tries == 1  # a second send could duplicate the message
