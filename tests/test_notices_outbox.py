"""Exactly once: notices per unit and month, outbox rows claimed by one sender at a time,
a crashed run or sender resumed, blocked users and flood control handled."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import Session, select
from telegram.error import NetworkError, TimedOut
from telegram.ext import ExtBot

from bot.services import Services
from db import outbox_store, users_store
from db.models import Notice, NoticeDelivery, NoticeRun, utcnow
from db.outbox_store import DeliveryKind, telegram_address
from db.session import make_engine
from db.users_store import Role
from scoring.outbox import SendLimiter
from tests.fake_bot_api import FakeBotApi
from tests.notices_helpers import (
    LIAISON2_NB03,
    LIAISON_GS01,
    LIAISON_NB03,
    MONTH,
    OFFICE_CHAT,
    Clock,
    Crash,
    FakeBot,
    lifecycle,
    notice_settings,
    outbox,
    seed_month,
    statuses,
)
from tests.telegram_helpers import TOKEN


def _counts(services: Services) -> tuple[int, int, int]:
    with Session(services.engine) as session:
        return (
            session.exec(select(func.count()).select_from(Notice)).one(),
            session.exec(select(func.count()).select_from(NoticeDelivery)).one(),
            session.exec(select(func.count()).select_from(NoticeRun)).one(),
        )


@pytest.fixture
def services(database_url: str) -> Services:
    services = Services(notice_settings(database_url))
    seed_month(services)
    return services


def test_a_month_run_twice_creates_every_notice_once(services: Services) -> None:
    rectification = lifecycle(services, Clock())
    first = rectification.run_month(MONTH, source="test")
    assert {n.unit_code for n in first.notices} == {"NB03", "GS01"}
    assert all(n.created for n in first.notices)
    assert len(first.queued) == 4  # three liaisons and the office chat
    second = rectification.run_month(MONTH, source="test")
    assert not any(n.created for n in second.notices)
    assert second.queued == []
    assert _counts(services) == (2, 4, 1)
    services.close()


def test_the_database_refuses_a_second_notice_for_a_unit_and_month(services: Services) -> None:
    lifecycle(services, Clock()).run_month(MONTH, source="test")
    with Session(services.engine) as session:
        existing = session.exec(select(Notice)).first()
        assert existing is not None
        duplicate = Notice(**existing.model_dump(exclude={"id"}))
        session.add(duplicate)
        with pytest.raises(Exception, match=r"(?i)unique"):
            session.flush()
    services.close()


def test_a_dry_run_writes_nothing(services: Services) -> None:
    report = lifecycle(services, Clock()).run_month(MONTH, source="test", dry_run=True)
    assert len(report.notices) == 2
    assert len(report.queued) == 4
    assert _counts(services) == (0, 0, 0)
    services.close()


def test_a_run_that_crashes_midway_leaves_nothing_half_done(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    rectification = lifecycle(services, Clock())
    real_enqueue = outbox_store.enqueue
    calls = 0

    def crashing_enqueue(**kwargs: object) -> bool:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise Crash
        return real_enqueue(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(outbox_store, "enqueue", crashing_enqueue)
    with pytest.raises(Crash):
        rectification.run_month(MONTH, source="test")
    assert _counts(services) == (0, 0, 0)
    monkeypatch.setattr(outbox_store, "enqueue", real_enqueue)
    rectification.run_month(MONTH, source="test")
    assert _counts(services) == (2, 4, 1)
    services.close()


def test_every_liaison_gets_the_notice_with_buttons(services: Services) -> None:
    clock = Clock()
    lifecycle(services, clock).run_month(MONTH, source="test")
    bot = FakeBot()
    report = asyncio.run(outbox(bot, services, now=clock).drain())
    assert report.sent == 4
    # The sender works on several rows at once, so the order of arrival is not asserted.
    with_buttons = [(chat, markup) for chat, _, markup in bot.sent if markup is not None]
    assert sorted(chat for chat, _ in with_buttons) == sorted(
        [LIAISON_GS01, LIAISON_NB03, LIAISON2_NB03]
    )
    assert [chat for chat, _, markup in bot.sent if markup is None] == [OFFICE_CHAT]
    markup = with_buttons[0][1]
    labels = [b.text for row in markup.inline_keyboard for b in row]
    assert labels == ["已阅", "报送整改措施"]
    assert set(statuses(services).values()) == {"sent"}
    services.close()


def _fill_outbox(services: Services, count: int) -> None:
    now = utcnow()
    with services.session() as session:
        for number in range(count):
            outbox_store.enqueue(
                session=session,
                dedup_key=f"test:{number}",
                kind=DeliveryKind.NOTICE,
                month=MONTH.code,
                to=telegram_address(10_000 + number),
                text=f"通报 {number}",
                now=now,
            )


def test_two_concurrent_senders_never_send_a_row_twice(database_url: str) -> None:
    services = Services(notice_settings(database_url, send_rate_per_second=30))
    seed_month(services, liaisons=False)
    _fill_outbox(services, 120)
    bots = [FakeBot(), FakeBot()]
    barrier = threading.Barrier(2)

    def sender(bot: FakeBot, name: str) -> None:
        engine = make_engine(database_url)  # its own connections, as another process would
        sender = outbox(bot, services, engine=engine, worker=name, batch=7, rate=1000)
        barrier.wait()
        asyncio.run(sender.drain())
        engine.dispose()

    threads = [
        threading.Thread(target=sender, args=(bot, f"worker-{i}")) for i, bot in enumerate(bots)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    chats = bots[0].chats() + bots[1].chats()
    assert sorted(chats) == [10_000 + n for n in range(120)]  # all sent, none twice
    assert bots[0].sent
    assert bots[1].sent
    assert set(statuses(services).values()) == {"sent"}
    services.close()


def test_a_crashed_sender_is_resumed_and_what_was_in_flight_is_never_sent_again(
    database_url: str,
) -> None:
    services = Services(notice_settings(database_url, send_lease_seconds=30))
    seed_month(services, liaisons=False)
    _fill_outbox(services, 40)
    clock = Clock(utcnow())
    crashing = FakeBot(crash_after=15)
    first = outbox(crashing, services, worker="a", now=clock, batch=10)
    with pytest.raises(BaseExceptionGroup) as raised:
        asyncio.run(first.drain())
    assert raised.group_contains(Crash)
    assert len(crashing.sent) == 15
    # A new process right away finds the crashed sender's rows still leased…
    resumed = FakeBot()
    second = outbox(resumed, services, worker="b", now=clock, batch=10)
    asyncio.run(second.drain())
    in_flight = {c for c, s in statuses(services).items() if s == "sending"}
    assert in_flight  # handed to the network when the process died
    # …and once the lease has run out, takes over what was only claimed, while what was in
    # flight becomes uncertain (待确认) and is never sent again.
    clock.now += timedelta(seconds=31)
    asyncio.run(second.drain())
    clock.now += timedelta(seconds=31)
    asyncio.run(second.drain())
    chats = crashing.chats() + resumed.chats()
    assert len(chats) == len(set(chats))  # nobody got a second copy
    final = statuses(services)
    assert set(final.values()) == {"sent", "uncertain"}
    uncertain = {c for c, s in final.items() if s == "uncertain"}
    sent = {c for c, s in final.items() if s == "sent"}
    assert uncertain == in_flight  # exactly what was handed over when the process died
    assert sent <= set(chats)  # recorded sent means received
    assert set(final) - set(chats) <= uncertain  # whatever was not received is flagged
    services.close()


def _connection_refused() -> NetworkError:
    error = NetworkError("httpx.ConnectError: connection refused")
    error.__cause__ = httpx.ConnectError("connection refused")
    return error


def test_a_refused_connection_backs_off_then_gives_up(database_url: str) -> None:
    services = Services(notice_settings(database_url, send_max_attempts=3))
    seed_month(services, liaisons=False)
    _fill_outbox(services, 2)
    bot = FakeBot(
        errors={
            10_000: [_connection_refused(), _connection_refused()],  # third try succeeds
            10_001: [_connection_refused() for _ in range(3)],  # never succeeds
        }
    )
    report = asyncio.run(outbox(bot, services).drain(wait_for_retries=5))
    assert bot.chats() == [10_000]
    assert (report.sent, report.failed, report.retried) == (1, 1, 4)
    assert statuses(services) == {10_000: "sent", 10_001: "failed"}
    services.close()


def test_a_timeout_or_a_lost_connection_is_uncertain_and_never_retried(database_url: str) -> None:
    services = Services(notice_settings(database_url))
    seed_month(services, liaisons=False)
    _fill_outbox(services, 3)
    lost = NetworkError("httpx.RemoteProtocolError: Server disconnected")
    lost.__cause__ = httpx.RemoteProtocolError("Server disconnected without sending a response.")
    bot = FakeBot(errors={10_000: [TimedOut()], 10_001: [lost]})
    report = asyncio.run(outbox(bot, services).drain(wait_for_retries=2))
    assert (report.sent, report.uncertain, report.retried) == (1, 2, 0)
    assert bot.chats() == [10_002]
    assert statuses(services) == {10_000: "uncertain", 10_001: "uncertain", 10_002: "sent"}
    services.close()


# ---------------------------------------------------------------- through a loopback Bot API


def _loopback_bot(api: FakeBotApi) -> ExtBot[None]:
    return ExtBot(TOKEN, base_url=api.base_url)


def test_a_blocked_liaison_is_marked_and_does_not_stop_the_others(services: Services) -> None:
    lifecycle(services, Clock(utcnow())).run_month(MONTH, source="test")
    with FakeBotApi() as api:
        api.block(LIAISON_NB03)

        async def run() -> None:
            bot = _loopback_bot(api)
            async with bot:
                report = await outbox(bot, services).drain()
            assert (report.sent, report.blocked) == (3, 1)

        asyncio.run(run())
        assert len(api.sent_to(LIAISON2_NB03)) == 1
        assert len(api.sent_to(LIAISON_GS01)) == 1
    assert statuses(services)[LIAISON_NB03] == "blocked"
    digest = lifecycle(services, Clock(utcnow())).digest(MONTH)
    nb03 = next(line for line in digest.lines if line.unit_code == "NB03")
    assert {r.address: r.label for r in nb03.recipients} == {
        telegram_address(LIAISON_NB03): "已屏蔽机器人",
        telegram_address(LIAISON2_NB03): "已送达",
    }
    services.close()


def test_flood_control_is_honoured_then_the_message_goes_out(services: Services) -> None:
    lifecycle(services, Clock(utcnow())).run_month(MONTH, source="test")
    with FakeBotApi() as api:
        api.flood(LIAISON_GS01, retry_after=1)

        async def run() -> None:
            bot = _loopback_bot(api)
            async with bot:
                report = await outbox(bot, services).drain(wait_for_retries=10)
            assert (report.sent, report.retried) == (4, 1)

        asyncio.run(run())
        tries = [t for t, chat in api.attempts if chat == LIAISON_GS01]
        assert len(tries) == 2
        assert tries[1] - tries[0] >= 1.0  # retry_after waited out
        assert len(api.sent_to(LIAISON_GS01)) == 1
    assert set(statuses(services).values()) == {"sent"}
    services.close()


def test_the_limiter_spaces_sends_per_chat_and_overall() -> None:
    async def run() -> tuple[list[float], list[float]]:
        limiter = SendLimiter(rate=20, per_recipient=0.2)
        one_chat: list[float] = []
        many: list[float] = []
        start = time.monotonic()
        for _ in range(3):
            await limiter.acquire(1)
            one_chat.append(time.monotonic() - start)
        limiter = SendLimiter(rate=20, per_recipient=1.0)
        start = time.monotonic()
        for chat in range(10):
            await limiter.acquire(chat)
            many.append(time.monotonic() - start)
        return one_chat, many

    one_chat, many = asyncio.run(run())
    assert one_chat[2] - one_chat[0] >= 0.39  # one chat: 0.2 s apart
    assert many[-1] >= 0.44  # ten chats at 20/s: 0.05 s apart
    assert many[-1] < 1.0


def test_a_liaison_bound_after_the_notice_gets_it_once(services: Services) -> None:
    clock = Clock()
    rectification = lifecycle(services, clock)
    rectification.run_month(MONTH, source="test")
    assert rectification.deliver_to_new_liaisons() == []  # everyone bound has it
    late = 8105
    with services.session() as session:
        users_store.bind_user(
            session=session, telegram_id=late, role=Role.LIAISON, unit_code="NB03"
        )
    (queued,) = rectification.deliver_to_new_liaisons()
    assert queued[1] == telegram_address(late)
    assert rectification.deliver_to_new_liaisons() == []
    assert rectification.follow_up().late_notices == []
    bot = FakeBot()
    asyncio.run(outbox(bot, services, now=clock).drain())
    assert bot.chats().count(late) == 1
    assert "【整改通报】2026年2月 · 第三税务所" in bot.sent[bot.chats().index(late)][1]
    services.close()
