"""The WeCom transport of the notice outbox: what WeCom's answers mean for a notice."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from bot.wecom.api import ApiConfig, WecomClient
from bot.wecom.transport import PLAIN_NOTICE_HINT, WecomTransport
from db.outbox_store import Address
from scoring.outbox import OutboundMessage, Outcome
from tests.fake_wecom_api import AGENT_ID, CORP_ID, SECRET, FakeWecomApi

LIAISON = "liaison_nb03"
NOTICE = (
    "<b>【整改通报】2026年10月</b>\n第三税务所在第二组排名末位，请于 11 月 15 日前报送整改措施。"
)


def buttons(notice_id: int) -> list[tuple[str, str]]:
    return [("已阅", f"nt:ack:{notice_id}"), ("报送整改措施", f"nt:m:{notice_id}")]


def message(*, with_buttons: bool = True, to: str = LIAISON) -> OutboundMessage:
    return OutboundMessage(
        delivery_id=41,
        kind="notice",
        to=Address("wecom", to),
        text=NOTICE,
        notice_id=7,
        buttons=with_buttons,
        attempts=0,
    )


@pytest.fixture
def api() -> Iterator[FakeWecomApi]:
    with FakeWecomApi() as fake:
        yield fake


async def make(api: FakeWecomApi, **config: object) -> WecomClient:
    values: dict[str, object] = {
        "base_url": api.base_url,
        "corp_id": CORP_ID,
        "secret": SECRET,
        "agent_id": AGENT_ID,
        "timeout": 1.0,
        "backoff_seconds": 0.01,
    }
    values.update(config)
    return WecomClient(ApiConfig(**values))  # type: ignore[arg-type]


@pytest.fixture
async def transport(api: FakeWecomApi) -> AsyncIterator[WecomTransport]:
    client = await make(api)
    yield WecomTransport(client, buttons)
    await client.aclose()


def sends(api: FakeWecomApi) -> list[str]:
    with api.lock:
        return [c.msgtype for c in api.calls if c.path == "message/send"]


async def test_notice_arrives_as_markdown_and_a_card(
    api: FakeWecomApi, transport: WecomTransport
) -> None:
    outcome = await transport.deliver(message())
    assert outcome.outcome is Outcome.SENT
    text, card = api.sent(LIAISON)
    assert text.content.startswith("**【整改通报】2026年10月**")
    assert card.buttons == [("已阅", "nt:ack:7"), ("报送整改措施", "nt:m:7")]
    assert card.task_id.startswith("nt41-")
    assert outcome.reference is not None
    assert outcome.reference.startswith("msg-")  # the card's message id


async def test_a_digest_has_no_card(api: FakeWecomApi, transport: WecomTransport) -> None:
    assert (await transport.deliver(message(with_buttons=False))).outcome is Outcome.SENT
    assert sends(api) == ["markdown"]


async def test_plain_mode_tells_how_to_answer(api: FakeWecomApi) -> None:
    client = await make(api)
    try:
        outcome = await WecomTransport(client, buttons, markdown=False).deliver(message())
    finally:
        await client.aclose()
    assert outcome.outcome is Outcome.SENT
    (text,) = api.sent(LIAISON)
    assert text.msgtype == "text"
    assert text.content.endswith(PLAIN_NOTICE_HINT)


async def test_outside_the_visible_range_is_blocked(
    api: FakeWecomApi, transport: WecomTransport
) -> None:
    api.outside.add(LIAISON)
    assert (await transport.deliver(message())).outcome is Outcome.BLOCKED
    assert sends(api) == ["markdown"]


async def test_frequency_limit_waits_a_minute_without_counting(api: FakeWecomApi) -> None:
    client = await make(api, rate_limit_retries=0)
    try:
        api.fail_next("message/send", 45009)
        outcome = await WecomTransport(client, buttons).deliver(message())
    finally:
        await client.aclose()
    assert (outcome.outcome, outcome.after, outcome.counts) == (Outcome.RETRY_LATER, 60.0, False)


async def test_wrong_secret_is_retried_later(api: FakeWecomApi) -> None:
    client = await make(api, secret="rotated")
    try:
        outcome = await WecomTransport(client, buttons).deliver(message())
    finally:
        await client.aclose()
    assert (outcome.outcome, outcome.counts) == (Outcome.RETRY_LATER, True)
    assert sends(api) == []


async def test_refused_request_fails(api: FakeWecomApi, transport: WecomTransport) -> None:
    await transport.client.access_token()
    api.fail_next("message/send", 44004, "empty content")
    assert (await transport.deliver(message())).outcome is Outcome.FAILED


async def test_no_answer_is_uncertain_and_sent_once(
    api: FakeWecomApi, transport: WecomTransport
) -> None:
    await transport.client.access_token()
    api.hang_up_next("message/send")
    assert (await transport.deliver(message())).outcome is Outcome.UNCERTAIN
    assert sends(api) == ["markdown"]


async def test_card_lost_after_the_text_arrived_is_uncertain(
    api: FakeWecomApi, transport: WecomTransport
) -> None:
    await transport.client.access_token()
    api.answer_next("message/send", {"errcode": 0, "errmsg": "ok", "msgid": "m1"})  # the text
    api.fail_next("message/send", 45009, times=10)  # the card, however long it is retried
    outcome = await transport.deliver(message())
    assert outcome.outcome is Outcome.UNCERTAIN
    assert "部分送达后中断" in outcome.detail
