"""The WeCom API client against the loopback fake: tokens, refusals, limits, timeouts."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from bot.wecom.api import (
    ApiConfig,
    RateLimitedError,
    RecipientBlockedError,
    SendUncertainError,
    TokenError,
    WecomApiError,
    WecomClient,
    WecomUnavailableError,
)
from tests.fake_wecom_api import AGENT_ID, CORP_ID, SECRET, FakeWecomApi

USER = "zhangsan"


@pytest.fixture
def api() -> Iterator[FakeWecomApi]:
    with FakeWecomApi() as fake:
        yield fake


class Sleeps:
    """Records back-off waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def config(base_url: str, **changes: object) -> ApiConfig:
    values: dict[str, object] = {
        "base_url": base_url,
        "corp_id": CORP_ID,
        "secret": SECRET,
        "agent_id": AGENT_ID,
        "timeout": 2.0,
    }
    values.update(changes)
    return ApiConfig(**values)  # type: ignore[arg-type]


@pytest.fixture
async def client(api: FakeWecomApi) -> AsyncIterator[WecomClient]:
    wecom = WecomClient(config(api.base_url), sleep=Sleeps())
    yield wecom
    await wecom.aclose()


def paths(api: FakeWecomApi) -> list[str]:
    with api.lock:
        return [call.path for call in api.calls]


async def test_token_is_fetched_once_and_reused(api: FakeWecomApi, client: WecomClient) -> None:
    for text in ("一", "二", "三"):
        await client.send_text(USER, text)
    assert paths(api) == ["gettoken", "message/send", "message/send", "message/send"]
    assert [call.content for call in api.sent(USER)] == ["一", "二", "三"]
    assert {call.token for call in api.sent(USER)} == {"tok-1"}


async def test_expired_token_is_replaced_and_the_message_sent_once(
    api: FakeWecomApi, client: WecomClient
) -> None:
    await client.send_text(USER, "之前")
    api.expire_tokens()
    await client.send_text(USER, "之后")
    assert paths(api) == ["gettoken", "message/send", "message/send", "gettoken", "message/send"]
    assert [call.content for call in api.sent(USER)] == ["之前", "之后"]
    assert client.token_fetches == 2


@pytest.mark.parametrize("errcode", [40014, 42001, 40001])
async def test_refused_token_is_refetched(
    api: FakeWecomApi, client: WecomClient, errcode: int
) -> None:
    api.fail_next("message/send", errcode)
    await client.send_text(USER, "你好")
    assert paths(api) == ["gettoken", "message/send", "gettoken", "message/send"]
    assert len(api.sent(USER)) == 1


async def test_token_is_refreshed_before_it_expires(api: FakeWecomApi) -> None:
    now = [1000.0]
    wecom = WecomClient(config(api.base_url), clock=lambda: now[0])
    try:
        await wecom.send_text(USER, "一")
        now[0] += 7200 - 300 - 1  # still inside the margin
        await wecom.send_text(USER, "二")
        assert wecom.token_fetches == 1
        now[0] += 2  # within five minutes of WeCom's expiry: fetched again, unasked
        await wecom.send_text(USER, "三")
        assert wecom.token_fetches == 2
        assert paths(api) == [
            "gettoken",
            "message/send",
            "message/send",
            "gettoken",
            "message/send",
        ]
    finally:
        await wecom.aclose()


async def test_wrong_secret_is_a_plain_refusal(api: FakeWecomApi) -> None:
    wecom = WecomClient(config(api.base_url, secret="wrong"))
    try:
        with pytest.raises(TokenError) as refused:
            await wecom.send_text(USER, "你好")
        assert refused.value.errcode == 40001
        assert paths(api) == ["gettoken"]
    finally:
        await wecom.aclose()


@pytest.mark.parametrize("errcode", [45009, 45033, -1])
async def test_frequency_limits_are_waited_out(api: FakeWecomApi, errcode: int) -> None:
    sleeps = Sleeps()
    wecom = WecomClient(config(api.base_url), sleep=sleeps)
    try:
        api.fail_next("message/send", errcode, times=2)
        await wecom.send_text(USER, "稍后送达")
        assert sleeps.waits == [1.0, 2.0]
        assert paths(api).count("message/send") == 3
        assert [call.content for call in api.sent(USER)] == ["稍后送达"]
    finally:
        await wecom.aclose()


async def test_frequency_limit_that_lasts_is_reported_not_taken(api: FakeWecomApi) -> None:
    wecom = WecomClient(config(api.base_url, rate_limit_retries=2), sleep=Sleeps())
    try:
        api.fail_next("message/send", 45009, times=5)
        with pytest.raises(RateLimitedError):
            await wecom.send_text(USER, "稍后送达")
        assert paths(api).count("message/send") == 3
        assert api.sent(USER) == []
    finally:
        await wecom.aclose()


async def test_user_outside_the_visible_range_is_blocked(
    api: FakeWecomApi, client: WecomClient
) -> None:
    api.outside.add("lisi")
    with pytest.raises(RecipientBlockedError) as blocked:
        await client.send_text("lisi", "你好")
    assert blocked.value.errcode == 81013
    assert paths(api) == ["gettoken", "message/send"]


async def test_recipient_named_in_invaliduser_is_blocked(
    api: FakeWecomApi, client: WecomClient
) -> None:
    await client.access_token()
    api.answer_next("message/send", {"errcode": 0, "errmsg": "ok", "invaliduser": "wangwu"})
    with pytest.raises(RecipientBlockedError):
        await client.send_text("wangwu", "你好")


async def test_read_timeout_is_uncertain_and_never_resent(api: FakeWecomApi) -> None:
    wecom = WecomClient(config(api.base_url, timeout=0.3), sleep=Sleeps())
    try:
        await wecom.access_token()
        api.slow_down("message/send", 1.0)
        with pytest.raises(SendUncertainError):
            await wecom.send_template_card(USER, {"card_type": "text_notice"})
        assert paths(api) == ["gettoken", "message/send"]
    finally:
        await wecom.aclose()


async def test_dropped_connection_is_uncertain_and_never_resent(
    api: FakeWecomApi, client: WecomClient
) -> None:
    await client.access_token()
    api.hang_up_next("message/send")
    with pytest.raises(SendUncertainError):
        await client.send_text(USER, "整改通报")
    assert paths(api) == ["gettoken", "message/send"]


async def test_no_connection_is_unavailable_after_retries() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleeps = Sleeps()
    wecom = WecomClient(config(f"http://127.0.0.1:{port}"), sleep=sleeps)
    try:
        with pytest.raises(WecomUnavailableError):
            await wecom.send_text(USER, "你好")
        assert sleeps.waits == [1.0, 2.0]
    finally:
        await wecom.aclose()


async def test_long_text_is_split_under_2048_bytes(api: FakeWecomApi, client: WecomClient) -> None:
    lines = [f"第{i}行：" + "考核指标解读" * 20 for i in range(40)]
    text = "\n".join(lines)
    sent = await client.send_text(USER, text)
    pieces = [call.content for call in api.sent(USER)]
    assert len(sent) == len(pieces) > 1
    assert all(len(piece.encode()) <= 2048 for piece in pieces)
    assert "\n".join(pieces) == text


async def test_long_markdown_is_split_under_4096_bytes_with_bold_closed(
    api: FakeWecomApi, client: WecomClient
) -> None:
    text = "**" + "\n".join("加分项说明" * 30 for _ in range(30)) + "**"
    await client.send_markdown(USER, text)
    pieces = [call.content for call in api.sent(USER)]
    assert len(pieces) > 1
    assert all(len(piece.encode()) <= 4096 for piece in pieces)
    assert all(piece.count("**") % 2 == 0 for piece in pieces)


async def test_card_response_code_updates_the_card_once(
    api: FakeWecomApi, client: WecomClient
) -> None:
    card = {
        "card_type": "button_interaction",
        "main_title": {"title": "整改通报"},
        "task_id": "nt-1",
        "button_list": [{"text": "已阅", "style": 1, "key": "nt:ack:1"}],
    }
    sent = await client.send_template_card(USER, card)
    assert sent.response_code is not None
    await client.update_template_card([USER], sent.response_code, replace_name="已阅 ✓")
    with pytest.raises(WecomApiError):
        await client.update_template_card([USER], sent.response_code, replace_name="again")
    updates = [c for c in api.calls if c.path == "message/update_template_card"]
    assert [c.accepted for c in updates] == [True, False]
    assert updates[0].payload["button"] == {"replace_name": "已阅 ✓"}


async def test_messages_to_one_user_are_paced(api: FakeWecomApi) -> None:
    wecom = WecomClient(config(api.base_url, per_user_messages=2, per_user_period=0.5))
    try:
        started = time.monotonic()
        await asyncio.gather(*(wecom.send_text(USER, str(i)) for i in range(3)))
        await wecom.send_text("other", "不受影响")
        with api.lock:
            sends = [c for c in api.calls if c.path == "message/send"]
        to_user = [c.at for c in sends if c.to == USER]
        assert len(to_user) == 3
        assert to_user[2] - started >= 0.2  # the third waited for the bucket to drain
    finally:
        await wecom.aclose()
