"""Every command of the core's table, for every role, through the WeCom door: what reaches
WeCom is the core's reply, translated (markdown text, the buttons on cards), nothing else."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest

from bot.core.commands import COMMANDS
from bot.core.dispatcher import TOO_FAST, Dispatcher
from bot.core.dispatcher import Message as CoreMessage
from bot.core.flood import FloodGate
from bot.core.reply import Reply
from bot.services import Clock, Services
from bot.settings import Settings
from bot.wecom.api import ApiConfig, WecomClient
from bot.wecom.door import WecomDoor, parse_text
from bot.wecom.messages import CardClick, TextMessage
from bot.wecom.render import html_to_markdown
from db import users_store
from db.roles import Role
from tests.fake_wecom_api import AGENT_ID, CORP_ID, SECRET, FakeWecomApi
from tests.telegram_helpers import TODAY, seed

EXAMPLES = {
    "start": "/start",
    "help": "/help",
    "ask": "/ask 税收收入完成率怎么算",
    "indicator": "/indicator DL-01",
    "score": "/score",
    "why": "/why",
    "rank": "/rank",
    "notice": "/notice",
    "add": "/add NB01 JF-01 2 市局通报表扬",
    "reverse": "/reverse 1 录错",
    "invite": "/invite staff NB01",
    "unanswered": "/unanswered",
    "attach": "/attach G1 DL-06",
    "questions": "/questions",
    "synonym": "/synonym 排队 等候时长",
    "synonyms": "/synonyms",
    "notices": "/notices",
}
ROLES = {"anyone": None, "staff": Role.STAFF, "liaison": Role.LIAISON, "admin": Role.ADMIN}


class Recording(Dispatcher):
    """The real dispatcher, remembering the replies it gave."""

    def __init__(self, services: Services) -> None:
        super().__init__(services)
        self.replies: list[Reply] = []

    def handle(self, channel: str, external_id: str, message: CoreMessage) -> Reply:
        reply = super().handle(channel, external_id, message)
        self.replies.append(reply)
        return reply


@dataclass
class Bench:
    api: FakeWecomApi
    door: WecomDoor
    dispatcher: Recording


@pytest.fixture
def services(database_url: str) -> Iterator[Services]:
    settings = Settings(database_url=database_url)
    services = Services(settings, clock=Clock(settings.zone, pinned_today=lambda: TODAY))
    seed(services)
    with services.session() as session:
        for name, role in ROLES.items():
            if role is not None:
                unit = None if role is Role.ADMIN else "NB01"
                users_store.bind_user(
                    session=session, channel="wecom", external_id=name, role=role, unit_code=unit
                )
    yield services
    services.close()


@pytest.fixture
async def bench(services: Services) -> AsyncIterator[Bench]:
    dispatcher = Recording(services)
    services.__dict__["dispatcher"] = dispatcher  # the cached property, replaced
    with FakeWecomApi() as api:
        client = WecomClient(
            ApiConfig(base_url=api.base_url, corp_id=CORP_ID, secret=SECRET, agent_id=AGENT_ID)
        )
        yield Bench(api, WecomDoor(services, client), dispatcher)
        await client.aclose()


def test_the_table_has_an_example_for_every_command() -> None:
    assert set(EXAMPLES) == {command.name for command in COMMANDS}


@pytest.mark.parametrize("command", list(EXAMPLES))
async def test_every_command_reaches_wecom_as_the_core_answered(bench: Bench, command: str) -> None:
    text = EXAMPLES[command]
    assert parse_text(text).name == command  # type: ignore[union-attr]
    for role in ROLES:
        mark = bench.api.mark()
        bench.dispatcher.replies.clear()
        await bench.door.handle(
            TextMessage(role, int(time.time()), AGENT_ID, content=text, msg_id="1")
        )
        (reply,) = bench.dispatcher.replies
        sent = bench.api.sent(role, start=mark)
        texts = [call for call in sent if call.msgtype == "markdown"]
        cards = [call for call in sent if call.msgtype == "template_card"]
        assert "".join(call.content for call in texts).replace("\n", "") == (
            html_to_markdown(reply.text).replace("\n", "")
        ), role
        assert [button for card in cards for button in card.buttons] == [
            (button.label, button.data) for button in reply.buttons
        ], role


async def test_a_pressed_button_goes_to_the_core_as_its_payload(bench: Bench) -> None:
    await bench.door.handle(
        TextMessage("staff", int(time.time()), AGENT_ID, content="税收收入完成率", msg_id="2")
    )
    (answer,) = bench.dispatcher.replies
    level = next(b.data for b in answer.buttons if b.data.startswith("lvl:"))
    mark = bench.api.mark()
    code = bench.api.issue_response_code("staff")
    await bench.door.handle(
        CardClick(
            "staff",
            int(time.time()),
            AGENT_ID,
            event_key=level,
            task_id="r-1",
            card_type="button_interaction",
            response_code=code,
        )
    )
    pressed = bench.dispatcher.replies[-1]
    (text,) = bench.api.sent("staff", start=mark)
    assert text.content == html_to_markdown(pressed.text)
    (update,) = bench.api.wait_for("staff", mark, path="message/update_template_card")
    assert [(b["text"], b["key"]) for b in update.payload["template_card"]["button_list"]] == [
        (b.label, b.data) for b in pressed.buttons
    ]


async def test_a_flooding_user_is_slowed_down_alone_and_told_once(bench: Bench) -> None:
    bench.door.flood_gate = FloodGate(limit=3, window=60.0)
    mark = bench.api.mark()
    for n in range(6):
        await bench.door.handle(
            TextMessage("staff", int(time.time()), AGENT_ID, content="/help", msg_id=f"f{n}")
        )
    assert len(bench.dispatcher.replies) == 3
    told = [c.content for c in bench.api.sent("staff", start=mark) if TOO_FAST in c.content]
    assert told == [TOO_FAST]
    await bench.door.handle(
        TextMessage("admin", int(time.time()), AGENT_ID, content="/help", msg_id="other")
    )
    assert len(bench.dispatcher.replies) == 4  # another user is not slowed down
