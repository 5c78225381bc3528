"""The core's HTML replies as WeCom markdown, text and template cards."""

from __future__ import annotations

import pytest

from bot.wecom.render import (
    MAX_CARD_BUTTONS,
    button_card,
    chunks,
    html_to_markdown,
    html_to_text,
    new_task_id,
)

REPLY = (
    "<b>【DL-01】税收收入完成率</b>\n<i>定量指标 · 满分 10 分</i>\n\n\n"
    "评分标准：完成率 &gt;= 100% 得满分，见 <code>DL-01</code>。\n"
    '<a href="https://example.invalid/rule?a=1&amp;b=2">细则</a> &amp; 说明'
)


def test_html_becomes_wecom_markdown() -> None:
    assert html_to_markdown(REPLY) == (
        "**【DL-01】税收收入完成率**\n"
        '<font color="comment">定量指标 · 满分 10 分</font>\n\n'
        "评分标准：完成率 >= 100% 得满分，见 `DL-01`。\n"
        "[细则](https://example.invalid/rule?a=1&b=2) & 说明"
    )


def test_html_becomes_plain_text() -> None:
    assert html_to_text(REPLY) == (
        "【DL-01】税收收入完成率\n定量指标 · 满分 10 分\n\n"
        "评分标准：完成率 >= 100% 得满分，见 DL-01。\n"
        "细则（https://example.invalid/rule?a=1&b=2） & 说明"
    )


def test_button_card_shape() -> None:
    card = button_card(
        "【DL-01】税收收入完成率——这是一个相当长的标题，需要截断才能放进卡片",
        [("绩效办", "lv:DL-01:0"), ("👍 有用", "fb:DL-01:1")],
        task_id="ans-1",
        desc="切换解读层级或评价",
        fields=[("单位", "GS06"), ("月份", "2026-10")],
    )
    assert card == {
        "card_type": "button_interaction",
        "source": {"desc": "绩效考核助手"},
        "main_title": {
            "title": "【DL-01】税收收入完成率——这是一个相当长的标题，需要截断才能放进…",
            "desc": "切换解读层级或评价",
        },
        "task_id": "ans-1",
        "button_list": [
            {"text": "绩效办", "style": 1, "key": "lv:DL-01:0"},
            {"text": "👍 有用", "style": 2, "key": "fb:DL-01:1"},
        ],
        "horizontal_content_list": [
            {"keyname": "单位", "value": "GS06"},
            {"keyname": "月份", "value": "2026-10"},
        ],
    }
    assert len(card["main_title"]["title"]) == 36


@pytest.mark.parametrize("count", [0, MAX_CARD_BUTTONS + 1])
def test_card_button_count_is_bounded(count: int) -> None:
    with pytest.raises(ValueError, match="1 to 6 buttons"):
        button_card("t", [("b", f"k{i}") for i in range(count)], task_id="t-1")


def test_buttons_are_chunked_six_to_a_card() -> None:
    buttons = [(str(i), f"k{i}") for i in range(14)]
    assert [len(group) for group in chunks(buttons)] == [6, 6, 2]


def test_task_ids_are_unique_and_in_wecoms_alphabet() -> None:
    ids = {new_task_id("nt7") for _ in range(100)}
    assert len(ids) == 100
    assert all(len(i) <= 128 and all(c.isalnum() or c in "_-@" for c in i) for i in ids)


@pytest.mark.parametrize(
    "typed",
    [
        "[点此领取补贴](http://phish.invalid)",
        '<font color="warning">紧急通知</font>',
        "**全体注意**",
        "# 通知",
        "> 引用别人的话",
        "`code`",
    ],
)
def test_user_text_never_becomes_wecom_markup(typed: str) -> None:
    """What a user typed reaches others (the office's /unanswered) as text, never as a link,
    a coloured font, bold, a title or a quote: the core escapes it as HTML, and the WeCom
    rendering keeps it inert once unescaped."""
    import html

    shown = html_to_markdown(f"<b>未回答的问题</b>\n{html.escape(typed)}")
    body = shown.split("\n", 1)[1]
    assert "](" not in body
    assert "<font" not in body
    assert "*" not in body
    assert "`" not in body
    assert not body.startswith(("#", ">"))
    assert len(body) == len(typed)  # the same characters, some in their full-width form
