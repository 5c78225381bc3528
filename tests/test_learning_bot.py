"""The review loop through the real Telegram ``Application`` offline: picks, votes, the
office's /unanswered, /attach, /synonym and /questions, each used by the matcher at once."""

from __future__ import annotations

import re

from sqlmodel import select

from db.models import QuestionFeedback
from tests.telegram_helpers import Call
from tests.test_telegram_bot import ADMIN, STAFF, Bot, bot, only

__all__ = ["bot"]  # the fixture, shared with the bot's own tests

AMBIGUOUS = "12366"  # fits KF-03 and DL-05 alike
WAITING = "老板在大厅干坐了一个钟头才轮到他"


def payload(call: Call, label_start: str) -> str:
    (data,) = [data for label, data in call.buttons if label.startswith(label_start)]
    return data


async def test_a_picked_candidate_answers_the_same_question_directly_next_time(bot: Bot) -> None:
    clarify = only(await bot.send(AMBIGUOUS, user_id=STAFF))
    assert clarify.text.startswith("您是想问以下哪一项？")
    pick = payload(clarify, "DL-05")
    assert re.fullmatch(r"ind:DL-05:\d+", pick)
    card = (await bot.press(pick, user_id=STAFF))[-1]
    assert (card.method, card.text.split("\n")[0]) == (
        "editMessageText",
        "<b>【DL-05】12366热线接通率与办结率</b>",
    )
    again = only(await bot.send(AMBIGUOUS + "？", user_id=STAFF))
    assert again.text.startswith("<b>【DL-05】")


async def test_thumbs_up_then_down_counts_once_and_the_report_shows_it(bot: Bot) -> None:
    clarify = only(await bot.send(AMBIGUOUS, user_id=STAFF))
    card = (await bot.press(payload(clarify, "KF-03"), user_id=STAFF))[-1]
    up, down = payload(card, "👍"), payload(card, "👎")
    assert re.fullmatch(r"fb:1:KF-03:\d+", up)
    for data in (up, down):
        assert only(await bot.press(data, user_id=ADMIN), "answerCallbackQuery").text == (
            "感谢您的反馈！"
        )
    with bot.services.session() as session:
        votes = session.exec(select(QuestionFeedback)).all()
        assert [(v.voter, v.indicator_code, v.useful) for v in votes] == [
            (f"telegram:{ADMIN}", "KF-03", False)
        ]
    report = only(await bot.send("/questions", user_id=ADMIN)).text
    # asked 1, answered 0, offered 1, picked 1, 👍 0, 👎 1, learned 0: the 👎 withdrew the pick
    assert "【KF-03】12366热线工单超时：1／0／1／1／0／1／0" in report


async def test_the_office_attaches_an_unanswered_group_with_one_button(bot: Bot) -> None:
    for _ in range(2):
        assert only(await bot.send(WAITING, user_id=STAFF)).text.startswith(
            "抱歉，考评指标细则中没有找到"
        )
    assert only(await bot.send(AMBIGUOUS, user_id=STAFF)).text.startswith("您是想问")
    listing = only(await bot.send("/unanswered", user_id=ADMIN))
    match = re.search(r"(G\d+)［2 次］" + WAITING, listing.text)
    assert match is not None, listing.text
    group = re.search(r"(G\d+)［1 次］12366", listing.text)
    assert group is not None
    button = payload(listing, f"{group[1]} 归入 DL-05")
    done = (await bot.press(button, user_id=ADMIN))[-1]
    assert done.text == (
        "已将 1 个问题归入【DL-05】12366热线接通率与办结率，新学会 1 种问法，立即生效。"
    )
    reply = only(await bot.send(f"/attach {match[1]} DL-06", user_id=ADMIN))
    assert reply.text.startswith("已将 2 个问题归入【DL-06】办税服务厅平均等候时长")
    assert only(await bot.send(WAITING, user_id=STAFF)).text.startswith("<b>【DL-06】")
    assert only(await bot.send("/unanswered", user_id=ADMIN)).text == "暂无未能回答的问题。"


async def test_attach_is_for_the_office_only(bot: Bot) -> None:
    only(await bot.send(WAITING, user_id=STAFF))
    refusal = only(await bot.send("/attach G1 DL-06", user_id=STAFF))
    assert refusal.text == "抱歉，该功能仅限绩效办使用。如有需要，请联系绩效办。"
    unchanged = only(await bot.send(WAITING, user_id=STAFF))
    assert unchanged.text.startswith("抱歉，考评指标细则中没有找到")


async def test_an_admin_edits_the_synonym_table_and_the_matcher_follows(bot: Bot) -> None:
    question = "纳税人干坐半天才轮到咋办"  # too little for an answer without the synonym
    before = only(await bot.send(question, user_id=STAFF)).text
    assert not before.startswith("<b>【DL-06】")
    added = only(await bot.send("/synonym 干坐 等候时长", user_id=ADMIN))
    assert added.text == "已添加同义词：干坐 → 等候时长，立即生效。"
    assert only(await bot.send(question, user_id=STAFF)).text.startswith("<b>【DL-06】")
    assert only(await bot.send("/synonyms", user_id=ADMIN)).text.splitlines() == [
        "<b>同义词表</b>（1 条，日常用语 → 规范用语）",
        "干坐 → 等候时长",
    ]
    removed = only(await bot.send("/synonym -干坐", user_id=ADMIN))
    assert removed.text == "已删除 1 条同义词，立即生效。"
    assert only(await bot.send(question, user_id=STAFF)).text == before
    missing = only(await bot.send("/synonym -干坐", user_id=ADMIN))
    assert missing.text == "同义词表中没有“干坐”。"
