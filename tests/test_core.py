"""The conversation core through its dispatcher, on a real database: state that survives a
restart, forged button payloads, identities of any channel, and the drifts it removed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlmodel import select

from bot.core.dispatcher import CommandCall, Press, Text
from bot.core.reply import Show
from bot.services import Clock, Services
from bot.settings import Settings
from db import users_store
from db.models import LedgerEntry, Notice
from db.users_store import Role
from scoring import entry
from tests.notices_helpers import LIAISON_NB03, MONTH, seed_month
from tests.notices_helpers import Clock as ManualClock
from tests.telegram_helpers import TODAY, seed

WECOM = "wecom"


def build(database_url: str) -> Services:
    settings = Settings(database_url=database_url)
    return Services(settings, clock=Clock(settings.zone, pinned_today=lambda: TODAY))


@pytest.fixture
def services(database_url: str) -> Iterator[Services]:
    services = build(database_url)
    seed(services)
    with services.session() as session:
        users_store.bind_user(session=session, channel=WECOM, external_id="boss", role=Role.ADMIN)
        users_store.bind_user(
            session=session,
            channel=WECOM,
            external_id="zhangsan",
            role=Role.STAFF,
            unit_code="NB01",
        )
    yield services
    services.close()


def entries(services: Services) -> list[LedgerEntry]:
    with services.session() as session:
        return list(session.exec(select(LedgerEntry)).all())


def test_a_pending_add_survives_a_restart(services: Services, database_url: str) -> None:
    confirm = services.dispatcher.handle(
        WECOM, "boss", CommandCall("add", ("NB02", "JF-01", "2", "市局通报表扬"))
    )
    assert confirm.text.startswith("请确认录入以下台账记录：")
    assert [b.label for b in confirm.buttons] == ["✅ 确认录入", "取消"]
    services.close()

    restarted = build(database_url)
    try:
        done = restarted.dispatcher.handle(WECOM, "boss", Text("1"))  # the number of ✅
        assert done.text.startswith("已录入第 1 条台账记录")
        assert done.show is Show.REPLACE
        again = restarted.dispatcher.handle(WECOM, "boss", Press(confirm.buttons[0].data))
        assert again.text == "该录入请求已处理或已过期。"
        assert [e.entered_by for e in entries(restarted)] == ["wecom:boss"]
    finally:
        restarted.close()


def test_add_is_checked_before_it_is_confirmed(services: Services) -> None:
    reply = services.dispatcher.handle(
        WECOM, "boss", CommandCall("add", ("NOSUCH", "JF-01", "abc", "说明"))
    )
    assert reply.text.startswith("发现 2 个问题，未写入任何数据：")
    assert reply.buttons == ()
    long_note = ("很长的说明" * 401,)
    reply = services.dispatcher.handle(
        WECOM, "boss", CommandCall("add", ("NB01", "JF-01", "1", *long_note))
    )
    assert "说明过长（最多 2000 字）" in reply.text  # the one limit, scoring's
    assert entries(services) == []


@pytest.mark.parametrize(
    "payload",
    [
        "",
        ":",
        "bogus:1",
        "ind:",
        "ind:DL-01:extra",
        "lvl:DL-01:老板",
        "fb:2:DL-01",
        "why:NB01:2026-03;DROP TABLE unit",
        "add:ok:zzzzzzzz",
        "add:ok:" + "a" * 5000,
        "nt:ack:abc",
        "nt:ack:99999999",
        "nt:m:-1",
        "\x00\x01",
    ],
)
def test_forged_payloads_get_one_polite_sentence(services: Services, payload: str) -> None:
    reply = services.dispatcher.handle(WECOM, "boss", Press(payload))
    assert reply.show is Show.POPUP
    assert reply.buttons == ()
    assert reply.text in {"该按钮已失效，请重新提问。", "该通报不存在或已被撤回。"}
    assert entries(services) == []


def test_buttons_are_admitted_by_role(services: Services) -> None:
    refused = services.dispatcher.handle(WECOM, "zhangsan", Press("add:ok:0123abcd"))
    assert refused.text.startswith("抱歉，该功能仅限绩效办使用")
    stranger = services.dispatcher.handle(WECOM, "nobody", Press("why:NB01:2026-03"))
    assert stranger.text.startswith("抱歉，该功能仅向已绑定单位的用户开放")
    other = services.dispatcher.handle(WECOM, "zhangsan", Press("why:NB02:2026-03"))
    assert other.text == "抱歉，您只能查看本单位（NB01）的积分。"


def test_staff_naming_a_unit_get_a_sensible_answer(services: Services) -> None:
    empty = services.dispatcher.handle(WECOM, "zhangsan", CommandCall("score", ("NB01",)))
    assert empty.text == "2026年3月：本期尚无考核数据，暂不发布排名。"
    with services.session() as session:
        entry.add_entry(
            session=session,
            unit="NB02",
            indicator="JF-01",
            points="1",
            entry_date=TODAY,
            note="表扬",
            entered_by="test",
            today=TODAY,
        )
    own = services.dispatcher.handle(WECOM, "zhangsan", CommandCall("score", ("NB01",)))
    assert "第一税务所" in own.text
    other = services.dispatcher.handle(WECOM, "zhangsan", CommandCall("score", ("NB02",)))
    assert other.text == "抱歉，您只能查看本单位（NB01）的积分。"
    period = services.dispatcher.handle(WECOM, "zhangsan", CommandCall("score", ("明年春天",)))
    assert period.text.startswith("无法识别的期间“明年春天”")


def test_a_wecom_user_binds_with_an_invite(services: Services) -> None:
    with services.session() as session:
        code = users_store.create_invite(
            session=session, role=Role.LIAISON, unit_code="NB03", created_by="test"
        )
    bound = services.dispatcher.handle(WECOM, "lisi", CommandCall("start", (code,)))
    assert bound.text.startswith("绑定成功！您的身份：绩效联络员（单位 NB03）")
    assert bound.identity_changed
    caller = services.dispatcher.caller(WECOM, "lisi")
    assert (caller.channel, caller.external_id, caller.role, caller.unit_code) == (
        WECOM,
        "lisi",
        Role.LIAISON,
        "NB03",
    )
    assert services.dispatcher.caller("telegram", "lisi").role is None  # channels are apart
    with services.session() as session:
        user = users_store.find_user(session=session, channel=WECOM, external_id="lisi")
        assert user is not None
        assert user.telegram_id is None


def test_typed_measures_survive_a_restart(database_url: str) -> None:
    settings = Settings(database_url=database_url, office_chat_ids=[-100777])
    clock = ManualClock()

    def services_now() -> Services:
        return Services(
            settings,
            clock=Clock(settings.zone, utc_now=clock, pinned_today=lambda: date(2026, 3, 2)),
        )

    first = services_now()
    seed_month(first)
    first.reload()
    first.rectification.run_month(MONTH, source="test")
    liaison = str(LIAISON_NB03)
    notice = first.dispatcher.handle("telegram", liaison, CommandCall("notice", ("2026-02",)))
    assert notice.text.startswith("<b>【整改通报】2026年2月 · 第三税务所</b>")
    assert [b.label for b in notice.buttons] == ["已阅", "报送整改措施"]
    prompt = first.dispatcher.handle("telegram", liaison, Text("2"))
    assert prompt.text.startswith("请直接回复一条文字消息")
    first.close()

    second = services_now()
    try:
        done = second.dispatcher.handle("telegram", liaison, Text("一、加强申报辅导"))
        assert done.text.startswith("已收到您报送的2026年2月整改通报整改措施")
        with second.session() as session:
            stored = session.exec(select(Notice).where(Notice.unit_code == "NB03")).one()
            assert stored.measures == "一、加强申报辅导"
            assert stored.measures_by == LIAISON_NB03
        card = second.dispatcher.handle("telegram", liaison, Text("税收收入完成率怎么算"))
        assert card.text.startswith("<b>【DL-01】税收收入完成率</b>")  # a question again
    finally:
        second.close()


def test_every_reply_passes_the_masking_boundary(services: Services) -> None:
    services.dispatcher.handle(
        WECOM, "boss", CommandCall("add", ("NB01", "JF-01", "1", "联系人 13900001111"))
    )
    confirm = services.dispatcher.handle(WECOM, "boss", Text("1"))
    assert confirm.text.startswith("已录入第 1 条台账记录")
    assert "13900001111" not in confirm.text
    why = services.dispatcher.handle(WECOM, "boss", CommandCall("why", ("NB01",)))
    assert "第一税务所" in why.text
    assert "13900001111" not in why.text


def test_one_users_messages_at_once_keep_one_state(services: Services) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(
            pool.map(
                lambda _: services.dispatcher.handle(WECOM, "boss", Text("税收收入完成率怎么算")),
                range(16),
            )
        )
    assert {reply.text.split("\n")[0] for reply in replies} == {"<b>【DL-01】税收收入完成率</b>"}
    assert services.dispatcher.handle(WECOM, "boss", Text("3")).text.startswith(
        "<b>【DL-01】税收收入完成率</b>"
    )  # the third choice offered (派出机构解读) is remembered once


def test_an_answer_card_is_built_from_the_matcher_without_reading_indicators(
    services: Services,
) -> None:
    from sqlalchemy import event

    services.conversation.ask("纳税人满意度怎么算", channel=WECOM)  # loads the matcher
    statements: list[str] = []

    def seen(*args: object) -> None:
        statements.append(str(args[2]).lower())

    event.listen(services.engine, "before_cursor_execute", seen)
    try:
        reply = services.conversation.ask("纳税人满意度怎么算", channel=WECOM)
    finally:
        event.remove(services.engine, "before_cursor_execute", seen)
    assert "纳税人满意度" in reply.text
    assert statements, "the question is still logged"
    assert [s for s in statements if "indicator" in s and "select" in s] == []
    # a retired or unknown code still goes to the database
    assert services.conversation.find("NO-SUCH-CODE") is None
