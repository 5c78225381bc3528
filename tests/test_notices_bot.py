"""The notice loop through the real Application, offline: notice → 已阅 → measures →
reminder → escalation, and the office's /notices digest."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date

import pytest
from sqlmodel import Session, col, select
from telegram.ext import Application

from bot.services import Clock as BureauClock
from bot.services import Services
from bot.telegram.app import build_application
from bot.telegram.guard import FloodGate
from bot.telegram.notices import NOTICES, NoticeDesk
from db.models import Notice
from knowledge.privacy import PHONE_MASK
from tests.notices_helpers import (
    ADMIN,
    LIAISON2_NB03,
    LIAISON_GS01,
    LIAISON_NB03,
    MONTH,
    OFFICE_CHAT,
    Clock,
    lifecycle,
    notice_settings,
    seed_month,
)
from tests.telegram_helpers import Call, RecordingRequest, Users


@dataclass
class Bot:
    """The application, its offline Bot API, update factories and the test's clock."""

    app: Application  # type: ignore[type-arg]
    request: RecordingRequest
    users: Users
    clock: Clock
    services: Services

    @property
    def desk(self) -> NoticeDesk:
        desk = self.app.bot_data[NOTICES]
        assert isinstance(desk, NoticeDesk)
        return desk

    async def drain(self) -> list[Call]:
        await self.desk.sender.drain()
        return [c for c in self.request.take() if c.method == "sendMessage"]


@pytest.fixture
async def bot(database_url: str) -> AsyncIterator[Bot]:
    clock = Clock()
    settings = notice_settings(database_url)
    services = Services(
        settings,
        clock=BureauClock(settings.zone, utc_now=clock, pinned_today=lambda: date(2026, 3, 2)),
    )
    seed_month(services, admin=True)
    services.reload()
    request = RecordingRequest()
    app = build_application(
        services,
        request=request,
        get_updates_request=request,
        rate_limit=False,
        flood_gate=FloodGate(limit=10_000),
    )
    async with app:
        yield Bot(app, request, Users(app.bot), clock, services)
    services.close()  # post_shutdown runs only under run_polling / run_webhook


def _to(calls: list[Call], chat: int) -> list[Call]:
    return [c for c in calls if int(c.params["chat_id"]) == chat]


def _notice(services: Services, unit: str) -> Notice:
    with Session(services.engine) as session:
        return session.exec(select(Notice).where(col(Notice.unit_code) == unit)).one()


async def test_acknowledge_measures_reminder_and_escalation(bot: Bot) -> None:
    bot.desk.rectification.run_month(MONTH, source="test")
    sent = await bot.drain()
    notice = _to(sent, LIAISON_NB03)[0]
    assert notice.text.startswith("<b>【整改通报】2026年2月 · 第三税务所</b>")
    assert [label for label, _ in notice.buttons] == ["已阅", "报送整改措施"]
    ack, measures = (data for _, data in notice.buttons)
    assert _to(sent, OFFICE_CHAT)[0].text.startswith("<b>2026年2月整改通报汇总</b>")

    # Another unit's liaison may not answer NB03's notice.
    await bot.app.process_update(bot.users.press(ack, user_id=LIAISON_GS01))
    (refusal,) = bot.request.take()
    assert refusal.method == "answerCallbackQuery"
    assert refusal.text.startswith("抱歉，只有该单位的绩效联络员")

    await bot.app.process_update(bot.users.press(ack, user_id=LIAISON_NB03))
    (answer,) = bot.request.take()
    assert answer.text.startswith("已确认阅读2026年2月整改通报")
    assert _notice(bot.services, "NB03").acknowledged_by == LIAISON_NB03

    await bot.app.process_update(bot.users.press(measures, user_id=LIAISON_NB03))
    prompt = [c for c in bot.request.take() if c.method == "sendMessage"]
    assert prompt[0].text.startswith("请直接回复一条文字消息")
    text = "一、加强申报辅导；二、专人跟进，联系电话13812345678"
    await bot.app.process_update(bot.users.message(text, user_id=LIAISON_NB03))
    (confirmation,) = bot.request.take()
    assert confirmation.text.startswith("已收到您报送的2026年2月整改通报整改措施")
    assert PHONE_MASK in confirmation.text
    assert "13812345678" not in confirmation.text
    stored = _notice(bot.services, "NB03")
    assert stored.measures == text  # kept as typed; only what is sent is masked
    office = _to(await bot.drain(), OFFICE_CHAT)
    assert office[0].text.startswith("<b>【整改措施】第三税务所已报送</b>")
    assert "13812345678" not in office[0].text

    # The next message is a question again, not measures.
    await bot.app.process_update(bot.users.message("税收收入完成率怎么算", user_id=LIAISON_NB03))
    (answer_card,) = bot.request.take()
    assert "税收收入完成率" in answer_card.text

    # Four days on: GS01's liaison, who never acknowledged, gets one reminder.
    bot.clock.advance(days=4)
    report = bot.desk.rectification.follow_up()
    assert len(report.reminders) == 1
    assert not report.escalations
    reminders = await bot.drain()
    assert [int(c.params["chat_id"]) for c in reminders] == [LIAISON_GS01]
    assert reminders[0].text.startswith("<b>【提醒】2026年2月整改通报尚未确认阅读</b>")
    assert [label for label, _ in reminders[0].buttons] == ["已阅", "报送整改措施"]
    assert bot.desk.rectification.follow_up().reminders == []  # only one reminder

    # Past the deadline (2026-03-12): GS01 has no measures, escalated to the office.
    bot.clock.advance(days=10)
    report = bot.desk.rectification.follow_up()
    assert len(report.escalations) == 1
    escalations = await bot.drain()
    assert {int(c.params["chat_id"]) for c in escalations} == {OFFICE_CHAT, ADMIN}
    assert escalations[0].text.startswith("<b>【督办】办公室逾期未报送整改措施</b>")
    assert bot.desk.rectification.follow_up().escalations == []

    # The office's digest on request.
    await bot.app.process_update(bot.users.message("/notices 2026-02", user_id=ADMIN))
    (digest,) = bot.request.take()
    assert "2026年2月整改通报汇总" in digest.text
    assert f"{LIAISON_NB03} 已送达；{LIAISON2_NB03} 已送达" in digest.text
    assert "已阅：是" in digest.text
    assert "整改措施：已报送" in digest.text
    assert "⚠️ 已逾期（已督办）" in digest.text


async def test_notices_is_for_the_office_only(bot: Bot) -> None:
    await bot.app.process_update(bot.users.message("/notices", user_id=LIAISON_NB03))
    (refusal,) = bot.request.take()
    assert refusal.text.startswith("抱歉，该功能仅限绩效办使用")
    await bot.app.process_update(bot.users.message("/notices 2026-Q1", user_id=ADMIN))
    (problem,) = bot.request.take()
    assert "请写月份" in problem.text


async def test_a_unit_without_liaison_is_reported_to_the_office(database_url: str) -> None:
    services = Services(notice_settings(database_url))
    seed_month(services, liaisons=False, admin=True)
    rectification = lifecycle(services, Clock())
    report = rectification.run_month(MONTH, source="test")
    assert {n.unit_code for n in report.without_liaison} == {"NB03", "GS01"}
    assert {kind for kind, _ in report.queued} == {"digest"}
    digest_html = rectification.digest_html(rectification.digest(MONTH))
    assert digest_html.count("未绑定绩效联络员") == 2
    # Past the deadline, the office is told the notice could not be delivered at all.
    rectification.now = Clock(Clock().now.replace(month=4))
    report_follow = rectification.follow_up()
    assert len(report_follow.escalations) == 2
    services.close()
