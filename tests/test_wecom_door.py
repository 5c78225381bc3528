"""The WeCom door's own translation: text to the core's messages, replies to plain text."""

from __future__ import annotations

import pytest

from bot.core.dispatcher import CommandCall, Press, Text, Unsupported
from bot.core.reply import Button, Reply
from bot.wecom.door import as_core_message, numbered, parse_text
from bot.wecom.messages import CardClick, Ignored, OtherMessage, TextMessage


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/score GS06 上季度", CommandCall("score", ("GS06", "上季度"))),
        ("／RANK", CommandCall("rank", ())),
        (
            "  /add NB01 JF-01 2 市局 通报表扬 ",
            CommandCall("add", ("NB01", "JF-01", "2", "市局", "通报表扬")),
        ),
        ("绑定 Ab3_x-Y", CommandCall("start", ("Ab3_x-Y",))),
        ("绑定：Ab3", CommandCall("start", ("Ab3",))),
        ("bind  Ab3", CommandCall("start", ("Ab3",))),
        ("绑定这个指标怎么算", Text("绑定这个指标怎么算")),
        ("税收收入完成率怎么算", Text("税收收入完成率怎么算")),
        ("/", Text("/")),
        ("bindings", Text("bindings")),
        ("2", Text("2")),
    ],
)
def test_text_becomes_the_cores_message(text: str, expected: object) -> None:
    assert parse_text(text) == expected


def test_callback_kinds_become_the_cores_messages() -> None:
    assert as_core_message(TextMessage("u", 1, 2, content="/help", msg_id="1")) == CommandCall(
        "help"
    )
    click = CardClick(
        "u", 1, 2, event_key="fb:1:DL-01", task_id="t", card_type="", response_code=""
    )
    assert as_core_message(click) == Press("fb:1:DL-01")
    assert as_core_message(OtherMessage("u", 1, 2, kind="image", msg_id="3")) == Unsupported()
    assert as_core_message(Ignored("u", 1, 2, kind="event:enter_agent")) is None


def test_plain_mode_numbers_the_choices() -> None:
    reply = Reply(
        "<b>您是想问：</b>",
        ((Button("【DL-01】税收收入完成率", "ind:DL-01"),), (Button("【DL-02】x", "ind:DL-02"),)),
    )
    assert numbered(reply) == (
        "您是想问：\n\n1. 【DL-01】税收收入完成率\n2. 【DL-02】x\n请回复序号选择。"
    )
    assert numbered(Reply("<i>好的</i>")) == "好的"
