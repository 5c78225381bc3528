"""The Telegram bot offline: the real Application processing constructed updates."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select
from telegram.ext import Application

from bot.services import Services
from bot.telegram.door import SERVICES
from bot.telegram.guard import FloodGate
from db import users_store
from db.models import AnswerFeedback, LedgerEntry, QuestionLog
from db.users_store import Role
from scoring import entry
from tests.telegram_helpers import TODAY, Call, RecordingRequest, Users, make_application

STAFF, LIAISON, ADMIN, STRANGER = 601, 602, 603, 604


@dataclass
class Bot:
    """The application under test, its recorded calls and the user factory."""

    app: Application  # type: ignore[type-arg]
    request: RecordingRequest
    users: Users

    @property
    def services(self) -> Services:
        services = self.app.bot_data[SERVICES]
        assert isinstance(services, Services)
        return services

    async def send(self, text: str | None, *, user_id: int = STRANGER, **extra: Any) -> list[Call]:
        await self.app.process_update(self.users.message(text, user_id=user_id, **extra))
        return self.request.take()

    async def press(self, data: str, *, user_id: int = STRANGER) -> list[Call]:
        await self.app.process_update(self.users.press(data, user_id=user_id))
        return self.request.take()

    def invite(self, role: Role, unit: str | None = None, ttl: timedelta | None = None) -> str:
        with self.services.session() as session:
            return users_store.create_invite(
                session=session,
                role=role,
                unit_code=unit,
                created_by="test",
                ttl=ttl or timedelta(days=1),
            )


@pytest.fixture
async def bot(database_url: str) -> AsyncIterator[Bot]:
    request = RecordingRequest()
    app = make_application(database_url, request)
    async with app:
        tested = Bot(app, request, Users(app.bot))
        for user_id, role, unit in (
            (STAFF, Role.STAFF, "NB01"),
            (LIAISON, Role.LIAISON, "NB02"),
            (ADMIN, Role.ADMIN, None),
        ):
            assert (
                "绑定成功"
                in (await tested.send(f"/start {tested.invite(role, unit)}", user_id=user_id))[
                    0
                ].text
            )
        yield tested
    tested.services.close()


def only(calls: list[Call], method: str = "sendMessage") -> Call:
    matching = [c for c in calls if c.method == method]
    assert len(matching) == 1, calls
    return matching[0]


# ---------------------------------------------------------------- questions


async def test_plain_question_answers_with_card_levels_and_feedback(bot: Bot) -> None:
    call = only(await bot.send("稅收收入完成率怎麼算"))
    assert call.params["parse_mode"] == "HTML"
    assert call.text.startswith("<b>【DL-01】税收收入完成率</b>")
    labels = [label for label, _ in call.buttons]
    assert labels == ["绩效办解读", "股室解读", "派出机构解读", "👍 有帮助", "👎 没帮助"]
    assert re.fullmatch(r"lvl:DL-01:绩效办:\d+", call.buttons[0][1])  # + the question's log id


async def test_level_button_edits_the_message_in_place(bot: Bot) -> None:
    calls = await bot.press("lvl:DL-01:股室")
    assert [c.method for c in calls] == ["answerCallbackQuery", "editMessageText"]
    edited = calls[1]
    assert "<b>股室解读</b>" in edited.text
    assert "<b>绩效办解读</b>" not in edited.text
    assert ("派出机构解读", "lvl:DL-01:派出机构") in edited.buttons


async def test_feedback_is_stored(bot: Bot) -> None:
    calls = await bot.press("fb:0:DL-01", user_id=STAFF)
    assert only(calls, "answerCallbackQuery").text == "感谢您的反馈！"
    with bot.services.session() as session:
        rows = session.exec(select(AnswerFeedback)).all()
        assert [(r.telegram_id, r.indicator_code, r.useful) for r in rows] == [
            (STAFF, "DL-01", False)
        ]


async def test_clarify_offers_candidates_as_buttons(bot: Bot) -> None:
    call = only(await bot.send("/ask 12366"))
    assert call.text.startswith("您是想问以下哪一项？")
    assert len(call.buttons) >= 2
    assert all(data.startswith("ind:") for _, data in call.buttons)
    pressed = await bot.press(call.buttons[0][1])
    assert pressed[-1].method == "editMessageText"
    assert pressed[-1].text.startswith("<b>【")


async def test_none_is_said_and_logged(bot: Bot) -> None:
    call = only(await bot.send("食堂今天吃什么"))
    assert call.text.startswith("抱歉，考评指标细则中没有找到")
    with bot.services.session() as session:
        logged = session.exec(select(QuestionLog)).all()
        assert [(q.question, q.status, q.channel) for q in logged] == [
            ("食堂今天吃什么", "none", "telegram")
        ]


async def test_user_text_is_escaped(bot: Bot) -> None:
    call = only(await bot.send("/indicator <b>&x"))
    assert call.text == "未找到编码为 &lt;b&gt;&amp;x 的指标。"


async def test_indicator_command_and_usage(bot: Bot) -> None:
    assert only(await bot.send("/indicator DL-03")).text.startswith("<b>【DL-03】")
    assert (
        only(await bot.send("/indicator")).text == "用法：/indicator 指标编码，如 /indicator DL-01"
    )
    assert only(await bot.send("/ask")).text == "用法：/ask 问题"


async def test_group_chat_answers_only_mentions(bot: Bot) -> None:
    assert await bot.send("税收收入完成率怎么算", chat_id=-100) == []
    call = only(await bot.send("@kpibot_test_bot 税收收入完成率怎么算", chat_id=-100))
    assert call.text.startswith("<b>【DL-01】")
    assert await bot.send("/nosuch", chat_id=-100) == []


async def test_long_reply_is_split_under_the_limit(bot: Bot) -> None:
    from bot.core.reply import Reply
    from bot.telegram.door import send

    reply = bot.services.conversation.card("DL-01")
    long = Reply("<b>标题</b>\n" + ("一行很长的内容 & 说明\n" * 600), reply.rows)
    message = bot.users.message("x", user_id=STAFF).message
    assert message is not None
    await send(message, long)
    calls = bot.request.take()
    assert len(calls) > 1
    assert all(len(c.text) <= 4096 for c in calls)
    assert (
        "".join(c.text for c in calls).count("一行很长的内容 &amp; 说明") == 0
    )  # raw, not escaped
    assert sum(c.text.count("一行很长的内容 & 说明") for c in calls) == 600


# ---------------------------------------------------------------- help, menu, binding


async def test_help_shows_each_role_its_commands(bot: Bot) -> None:
    stranger = only(await bot.send("/help")).text
    staff = only(await bot.send("/help", user_id=STAFF)).text
    admin = only(await bot.send("/help", user_id=ADMIN)).text
    assert "/ask" in stranger
    assert "/score" not in stranger
    assert "/score" in staff
    assert "/add" not in staff
    assert "/add" in admin
    assert "/invite" in admin
    assert "发送 CSV、XLSX 或 YAML 文件（控制台中输入 /import 文件路径）即可导入" in admin
    assert "文件即可导入" not in staff


async def test_binding_sets_the_role_menu(bot: Bot) -> None:
    code = bot.invite(Role.LIAISON, "NB03")
    calls = await bot.send(f"/start {code}", user_id=700)
    assert (
        only(calls).text == "绑定成功！您的身份：绩效联络员（单位 NB03）。发送 /help 查看可用功能。"
    )
    menu = only(calls, "setMyCommands")
    commands = menu.params["commands"]
    names = [c["command"] if isinstance(c, dict) else c.command for c in commands]
    assert "score" in names
    assert "add" not in names


async def test_reused_expired_and_unknown_codes_are_refused(bot: Bot) -> None:
    code = bot.invite(Role.STAFF, "NB02")
    assert "绑定成功" in only(await bot.send(f"/start {code}", user_id=701)).text
    assert only(await bot.send(f"/start {code}", user_id=702)).text == (
        "该邀请码已被使用过，每个邀请码只能使用一次。"
    )
    expired = bot.invite(Role.ADMIN, ttl=timedelta(microseconds=1))
    assert only(await bot.send(f"/start {expired}", user_id=703)).text == (
        "该邀请码已过期，请向绩效办索取新的邀请码。"
    )
    assert only(await bot.send("/start nonsense", user_id=704)).text.startswith("邀请码无效")
    with bot.services.session() as session:
        assert users_store.get_user(session=session, telegram_id=702) is None
        assert users_store.get_user(session=session, telegram_id=703) is None


# ---------------------------------------------------------------- scores and refusals


async def test_stranger_is_refused_member_and_admin_commands(bot: Bot) -> None:
    for command in ("/score", "/rank", "/why"):
        assert only(await bot.send(command)).text.startswith("抱歉，该功能仅向已绑定单位的用户开放")
    for command in ("/add NB01 JF-01 1 x", "/reverse 1 x", "/invite staff NB01", "/unanswered"):
        assert (
            only(await bot.send(command)).text
            == "抱歉，该功能仅限绩效办使用。如有需要，请联系绩效办。"
        )


async def test_staff_is_refused_admin_commands_and_changes_nothing(bot: Bot) -> None:
    for command in ("/add NB01 JF-01 1 x", "/reverse 1 x", "/invite admin", "/unanswered"):
        assert only(await bot.send(command, user_id=STAFF)).text.startswith(
            "抱歉，该功能仅限绩效办"
        )
    assert only(
        await bot.press("add:ok:abc", user_id=STAFF), "answerCallbackQuery"
    ).text.startswith("抱歉，该功能仅限绩效办")
    with bot.services.session() as session:
        assert session.exec(select(LedgerEntry)).all() == []


def _record_elsewhere(bot: Bot) -> None:
    """One ledger entry for the office (another group): the month has data."""
    with bot.services.session() as session:
        entry.add_entry(
            session=session,
            unit="GS01",
            indicator="JF-01",
            points="1",
            entry_date=TODAY,
            note="表扬",
            entered_by="test",
            today=TODAY,
        )


async def test_staff_score_and_rank(bot: Bot) -> None:
    empty = only(await bot.send("/score", user_id=STAFF)).text
    assert empty == "2026年3月：本期尚无考核数据，暂不发布排名。"
    _record_elsewhere(bot)
    score = only(await bot.send("/score", user_id=STAFF)).text
    assert score.startswith("<b>第一税务所（NB01）2026年3月（截至 3月20日，暂定）得分：100 分</b>")
    assert "第 1 名 / 共 3 个单位\n" in score  # all tied: nobody is 末位
    rank = only(await bot.send("/rank 2026Q1", user_id=STAFF)).text
    assert rank.startswith("<b>2026年第一季度排名</b>（截至 3月20日，暂定）")
    assert "<b>▶ 1. 第一税务所　100</b>" in rank
    assert "末位" not in rank
    assert "办公室" not in rank  # only the unit's own group


async def test_staff_cannot_see_other_units(bot: Bot) -> None:
    _record_elsewhere(bot)
    text = only(await bot.send("/why", user_id=STAFF)).text
    assert text.startswith("<b>第一税务所")
    refused = await bot.press("why:NB02:2026-03", user_id=STAFF)
    assert only(refused, "answerCallbackQuery").text == "抱歉，您只能查看本单位（NB01）的积分。"
    assert [c.method for c in refused] == ["answerCallbackQuery"]


async def test_bad_period_is_explained(bot: Bot) -> None:
    text = only(await bot.send("/score 明年春天", user_id=STAFF)).text
    assert text.startswith("无法识别的期间“明年春天”")


async def test_admin_adds_with_confirmation_and_score_changes(bot: Bot) -> None:
    confirm = only(await bot.send("/add NB02 JF-01 2 市局通报表扬", user_id=ADMIN))
    assert confirm.text.startswith("请确认录入以下台账记录：")
    ok = next(data for label, data in confirm.buttons if label.startswith("✅"))
    done = await bot.press(ok, user_id=ADMIN)
    assert done[-1].method == "editMessageText"
    assert done[-1].text.startswith("已录入第 1 条台账记录")
    again = await bot.press(ok, user_id=ADMIN)
    assert again[-1].text == "该录入请求已处理或已过期。"
    score = only(await bot.send("/score", user_id=LIAISON)).text
    assert "2026年3月（截至 3月20日，暂定）得分：102 分" in score
    rank = only(await bot.send("/rank", user_id=STAFF)).text
    assert "距上一名差 2 分" in rank
    reverse = only(await bot.send("/reverse 1 录错单位", user_id=ADMIN)).text
    assert reverse.startswith("已冲正第 1 条，冲正记录为第 2 条")
    twice = only(await bot.send("/reverse 1 再来一次", user_id=ADMIN)).text
    assert twice.startswith("发现 1 个问题，未写入任何数据")


async def test_admin_add_with_bad_arguments_changes_nothing(bot: Bot) -> None:
    assert only(await bot.send("/add NB02", user_id=ADMIN)).text.startswith("用法：/add")
    refused = only(await bot.send("/add NOSUCH JF-01 abc 说明", user_id=ADMIN))
    assert refused.text.startswith("发现 2 个问题，未写入任何数据")  # checked before confirming
    assert refused.buttons == []
    comma = only(await bot.send("/add NB02 JF-01 1,5 说明", user_id=ADMIN))
    assert comma.text.splitlines() == [
        "发现 1 个问题，未写入任何数据：",
        "· 录入内容 字段“分值”：分值“1,5”含有逗号，不是有效数字（小数请用小数点，如 1.5）",
    ]
    assert comma.buttons == []
    wide = only(await bot.send("/add NB02 JF-01 ０.５ 说明", user_id=ADMIN))
    assert "分值：0.5" in wide.text
    cancel = next(data for label, data in wide.buttons if label == "取消")
    await bot.press(cancel, user_id=ADMIN)
    with bot.services.session() as session:
        assert session.exec(select(LedgerEntry)).all() == []


async def test_admin_invites_and_the_code_binds(bot: Bot) -> None:
    text = only(await bot.send("/invite staff NB03", user_id=ADMIN)).text
    code = text.rsplit("/start ", 1)[1].removesuffix("</code>")
    assert "绑定成功" in only(await bot.send(f"/start {code}", user_id=801)).text
    assert (
        only(await bot.send("/invite boss", user_id=ADMIN)).text
        == "角色应为 staff、liaison 或 admin。"
    )
    assert only(await bot.send("/invite staff", user_id=ADMIN)).text.startswith(
        "干部职工的邀请码必须指定单位"
    )


async def test_admin_sees_unanswered(bot: Bot) -> None:
    await bot.send("食堂今天吃什么")
    text = only(await bot.send("/unanswered", user_id=ADMIN)).text
    assert re.search(r"\nG\d+［1 次］食堂今天吃什么\n", text), text


# ---------------------------------------------------------------- bad input and errors


async def test_unknown_command_sticker_and_huge_message(bot: Bot) -> None:
    assert only(await bot.send("/nosuch")).text == "没有这个命令。发送 /help 查看可用命令。"
    sticker: dict[str, Any] = {
        "sticker": {
            "file_id": "s",
            "file_unique_id": "s",
            "width": 1,
            "height": 1,
            "is_animated": False,
            "is_video": False,
            "type": "regular",
        }
    }
    assert only(await bot.send(None, **sticker)).text.startswith("抱歉，我只能看懂文字消息")
    assert only(await bot.send("税" * 4096)).method == "sendMessage"


async def test_stale_button_is_answered(bot: Bot) -> None:
    calls = await bot.press("bogus:1")
    assert only(calls, "answerCallbackQuery").text == "该按钮已失效，请重新提问。"


async def test_handler_error_is_logged_with_an_id_and_told(
    bot: Bot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(text: str, *, channel: str) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(bot.services.conversation, "ask", broken)
    text = only(await bot.send("税收收入完成率")).text
    assert text.startswith("抱歉，处理您的请求时出错了（错误编号 ")
    error_id = text.split("错误编号 ")[1][:8]
    assert any(error_id in r.getMessage() and r.exc_info for r in caplog.records)
    assert only(await bot.send("/help")).text.startswith("<b>绩效考评助手</b>")


async def test_flooding_user_is_slowed_alone(database_url: str) -> None:
    request = RecordingRequest()
    app = make_application(database_url, request, flood_gate=FloodGate(limit=3, window=60))
    users = Users(app.bot)
    async with app:
        for _ in range(6):
            await app.process_update(users.message("/help", user_id=900))
        flooder = request.take()
        assert len(flooder) == 4
        assert flooder[-1].text == "您发送得太快了，请稍等片刻再试。"
        await app.process_update(users.message("/help", user_id=901))
        assert len(request.take()) == 1
    app.bot_data[SERVICES].close()


def _ledger_count(bot: Bot) -> int:
    with bot.services.session() as session:
        return len(session.exec(select(LedgerEntry)).all())


async def _upload(bot: Bot, name: str, data: bytes, *, user_id: int, caption: str = "") -> Call:
    update = bot.users.document(bot.request, name, data, user_id=user_id, caption=caption)
    await bot.app.process_update(update)
    return only(bot.request.take())


async def test_admin_uploads_a_gbk_ledger_and_reimport_is_idempotent(bot: Bot) -> None:
    rows = "日期,单位,指标,分值,说明,编号\n2026-03-02,NB01,KF-02,0.5,有效投诉,T-1\n"
    data = rows.encode("gbk")
    before = _ledger_count(bot)
    reply = await _upload(bot, "三月台账.csv", data, user_id=ADMIN)
    assert reply.text.splitlines() == ["已导入积分台账：三月台账.csv", "共 1 行，新增 1 条。"]
    assert _ledger_count(bot) == before + 1
    again = await _upload(bot, "三月台账.csv", data, user_id=ADMIN)
    assert "跳过 1 条（编号已导入过，不重复计分）" in again.text
    assert _ledger_count(bot) == before + 1


async def test_upload_kind_comes_from_headers_or_caption(bot: Bot) -> None:
    units = "编码,名称,分组\nNB09,第九税务所,派出机构\n".encode("utf-8-sig")
    reply = await _upload(bot, "units.csv", units, user_id=ADMIN)
    assert reply.text.startswith("已导入考核对象（单位）：units.csv")
    reviews = "年度,单位,评议得分\n2026,NB09,91.5\n".encode()
    reply = await _upload(bot, "a.csv", reviews, user_id=ADMIN, caption="年终评议结果")
    assert reply.text.startswith("已导入年终评议：a.csv")
    puzzle = b"foo,bar\n1,2\n"
    reply = await _upload(bot, "x.csv", puzzle, user_id=ADMIN)
    assert "无法判断文件内容" in reply.text


async def test_broken_upload_lists_every_problem_and_changes_nothing(bot: Bot) -> None:
    rows = (
        "日期,单位,指标,分值\n"
        "2026-13-01,NB01,KF-02,0.5\n"
        "2026-03-02,NB77,KF-02,0.5\n"
        "2026-03-02,NB01,KF-02,abc\n"
    ).encode()
    before = _ledger_count(bot)
    reply = await _upload(bot, "bad.csv", rows, user_id=ADMIN)
    lines = reply.text.splitlines()
    assert lines[0] == "发现 3 个问题，未写入任何数据："
    assert lines[1:] == [
        "· bad.csv 第2行 字段“日期”：“2026-13-01”不是有效日期（13月1日不存在）",
        "· bad.csv 第3行 字段“单位”：未知单位“NB77”",
        "· bad.csv 第4行 字段“分值”：分值“abc”不是有效数字",
    ]

    assert _ledger_count(bot) == before


async def test_upload_of_unsupported_or_empty_files(bot: Bot) -> None:
    reply = await _upload(bot, "photo.jpg", b"\xff\xd8\xff", user_id=ADMIN)
    assert "不支持的文件类型“.jpg”" in reply.text
    reply = await _upload(bot, "empty.csv", b"", user_id=ADMIN)
    assert "empty.csv：文件为空" in reply.text


async def test_non_admin_upload_is_refused_and_changes_nothing(bot: Bot) -> None:
    rows = "日期,单位,指标,分值\n2026-03-02,NB01,JF-01,2\n".encode()
    before = _ledger_count(bot)
    for user in (STAFF, STRANGER):
        reply = await _upload(bot, "ledger.csv", rows, user_id=user)
        assert "仅限绩效办使用" in reply.text or "仅向已绑定单位的用户开放" in reply.text
    assert _ledger_count(bot) == before


async def test_admin_uploads_a_rulebook_and_questions_use_it(bot: Bot) -> None:
    rulebook = (
        "title: 新细则\nyear: 2026\nindicators:\n"
        "  - code: ZZ-01\n    name: 垃圾分类执行率\n    type: 定量指标\n    points: 5\n"
    ).encode()
    refused = await _upload(bot, "new.yaml", rulebook, user_id=ADMIN)
    assert refused.text.startswith("new.yaml：此次导入将停用 48 项指标")
    assert refused.text.endswith("如确认停用，请重新发送该文件，并在说明中写“确认停用”。")
    reply = await _upload(bot, "new.yaml", rulebook, user_id=ADMIN, caption="确认停用")
    assert reply.text.startswith("已导入考评指标细则：new.yaml")
    assert "新增 1 项" in reply.text
    answer = only(await bot.send("垃圾分类执行率怎么算", user_id=STAFF))
    assert "【ZZ-01】垃圾分类执行率" in answer.text


async def test_concurrent_updates_are_all_answered_correctly(bot: Bot) -> None:
    questions = {
        900 + n: q for n, q in enumerate(["满义度怎么算", "信访投诉扣几分", "食堂吃什么"] * 10)
    }
    updates = [bot.users.message(q, user_id=user) for user, q in questions.items()]
    await asyncio.gather(*(bot.app.process_update(u) for u in updates))
    calls = bot.request.take()
    replies = {int(c.params["chat_id"]): c.text for c in calls if c.method == "sendMessage"}
    assert set(replies) == set(questions)
    for user, question in questions.items():
        expected = {
            "满义度怎么算": "【DL-04】",
            "信访投诉扣几分": "【KF-02】",
            "食堂吃什么": "没有找到",
        }
        assert expected[question] in replies[user]


async def test_a_file_over_10_mb_is_refused_before_it_is_fetched(bot: Bot) -> None:
    big = b"a,b\n" * (10 * 1024 * 1024 // 4 + 1)
    update = bot.users.document(bot.request, "big.csv", big, user_id=ADMIN)
    await bot.app.process_update(update)
    calls = bot.request.take()
    assert [c.method for c in calls] == ["sendMessage"]  # no getFile: never downloaded
    assert calls[0].text == "big.csv：文件过大（上限 10 MB），未导入。"
