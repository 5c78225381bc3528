"""Notices exactly once when the network lies: a Bot API that answers too late, the real
``kpibot run`` killed with SIGKILL mid-send and restarted, two instances with one killed.

Each ends with the same tally: no recipient got a copy twice, and every notice is accounted
for (sent and received once, or recorded 待确认 and left to the acknowledgement loop).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from bot.core.reply import html_to_plain
from bot.services import Services
from db.outbox_store import telegram_address
from scoring.periods import Period
from scoring.rectification import NoticeError
from tests.fake_bot_api import FakeBotApi
from tests.notices_helpers import Clock, lifecycle, notice_settings, outbox
from tests.outbox_harness import (
    TOKEN,
    BotProcess,
    bot_env,
    last_month,
    run_remind,
    seed_flagged_units,
    tally,
    unfinished,
    wait_until,
)

MONTH = Period.month(2026, 2)
RUN_AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def _slow_bot(api: FakeBotApi, read_timeout: float) -> ExtBot[None]:
    return ExtBot(
        TOKEN,
        base_url=api.base_url,
        request=HTTPXRequest(connection_pool_size=16, read_timeout=read_timeout),
    )


def test_answers_later_than_the_timeout_are_uncertain_then_settled_by_the_reminder(
    database_url: str,
) -> None:
    services = Services(notice_settings(database_url, office_chat_ids=[]))
    liaisons = seed_flagged_units(services, 10, MONTH)
    clock = Clock(RUN_AT)
    rectification = lifecycle(services, clock)
    rectification.run_month(MONTH, source="test")
    with FakeBotApi() as api:
        api.latency = 1.2  # every answer comes after the client's 0.4 s read timeout

        async def drain(wait: float) -> None:
            bot = _slow_bot(api, read_timeout=0.4)
            async with bot:
                await outbox(bot, services, now=clock).drain(wait_for_retries=wait)

        asyncio.run(drain(3.0))
        after_notices = tally(services.engine, api)
        assert (after_notices.notices, after_notices.delivered) == (10, 10)
        assert (after_notices.duplicates, after_notices.unaccounted) == (0, 0)
        assert after_notices.uncertain == 10
        digest = rectification.digest_plain(rectification.digest(MONTH))
        assert digest.count("待确认") == 11  # the warning line and each of the ten copies
        # The network recovers; nobody pressed 已阅 by the reminder date: the reminder
        # carries the notice, once to each liaison.
        api.latency = 0.0
        clock.advance(days=3, minutes=1)
        assert len(rectification.follow_up().reminders) == 10
        mark = api.mark()
        asyncio.run(drain(0.0))
        reminders = tally(services.engine, api, since=mark, kind="reminder")
        assert (reminders.notices, reminders.delivered, reminders.duplicates) == (10, 10, 0)
        reminder = api.sent_to(liaisons[0])[-1]
        assert "【提醒】2026年2月整改通报尚未确认阅读" in reminder.text
        assert "【整改通报】2026年2月 · 第0税务所" in html_to_plain(reminder.text)
        # The liaison's 已阅 proves the copy arrived: no longer uncertain.
        notice_id = int(reminder.buttons[0][1].rsplit(":", 1)[1])
        rectification.acknowledge(
            notice_id,
            user_id=liaisons[0],
            may_answer=lambda unit: unit == "U00000",
            address=telegram_address(liaisons[0]),
        )
        assert tally(services.engine, api).uncertain == 9
    services.close()


@pytest.fixture
def queued_month(database_url: str, tmp_path: Path) -> tuple[str, Path]:
    """Last month's notices queued for 40 liaisons by ``kpibot remind --no-send``."""
    services = Services(notice_settings(database_url, office_chat_ids=[]))
    month = last_month(services.today())
    seed_flagged_units(services, 40, month)
    services.close()
    with FakeBotApi() as api:
        run_remind(database_url, month, bot_env(database_url, api), tmp_path)
    return database_url, tmp_path


def _settle(database_url: str, survivor: BotProcess) -> None:
    services = Services(notice_settings(database_url))
    try:
        wait_until(lambda: unfinished(services.engine) == 0, 60, "the outbox to settle")
    finally:
        services.close()
    log = survivor.stop()
    assert "Traceback" not in log, log


def test_kill_9_mid_send_then_restart_sends_nothing_twice(
    queued_month: tuple[str, Path],
) -> None:
    database_url, folder = queued_month
    with FakeBotApi() as api:
        api.latency = 0.3  # requests in flight at any moment
        env = bot_env(database_url, api)
        first = BotProcess(env, folder, "first")
        wait_until(lambda: api.count() >= 10, 60, "the first sends")
        first.kill()
        second = BotProcess(env, folder, "second")
        _settle(database_url, second)
        services = Services(notice_settings(database_url))
        result = tally(services.engine, api)
        services.close()
    assert result.notices == 40
    assert (result.duplicates, result.unaccounted) == (0, 0)
    assert result.delivered >= 40 - result.uncertain
    assert set(result.statuses) <= {"sent", "uncertain"}


def test_two_instances_with_one_killed_send_nothing_twice(
    queued_month: tuple[str, Path],
) -> None:
    database_url, folder = queued_month
    with FakeBotApi() as api:
        api.latency = 0.2
        env = bot_env(database_url, api, send_rate_per_second="15")
        doomed = BotProcess(env, folder, "doomed")
        survivor = BotProcess(env, folder, "survivor")
        wait_until(lambda: api.count() >= 12, 60, "both instances sending")
        doomed.kill()
        _settle(database_url, survivor)
        services = Services(notice_settings(database_url))
        result = tally(services.engine, api)
        services.close()
    assert result.notices == 40
    assert (result.duplicates, result.unaccounted) == (0, 0)
    assert set(result.statuses) <= {"sent", "uncertain"}


def test_a_month_not_over_or_without_data_is_refused(database_url: str) -> None:
    services = Services(notice_settings(database_url, office_chat_ids=[]))
    seed_flagged_units(services, 3, MONTH)
    rectification = lifecycle(services, Clock(datetime(2026, 2, 20, 2, 0, tzinfo=UTC)))

    with pytest.raises(NoticeError, match="尚未结束（截至 2026-02-20"):
        rectification.run_month(MONTH, source="test")
    later = lifecycle(services, Clock(RUN_AT))
    with pytest.raises(NoticeError, match="本期尚无考核数据"):
        later.run_month(Period.month(2026, 1), source="test")
    digest = later.digest_plain(later.digest(Period.month(2026, 1)))
    assert "尚未发布" in digest
    assert "无末位" not in digest
    services.close()


def test_the_reminder_date_is_what_settles_an_uncertain_copy(database_url: str) -> None:
    """Before the reminder date nothing more goes out; after it, once."""
    services = Services(notice_settings(database_url, office_chat_ids=[]))
    seed_flagged_units(services, 2, MONTH)
    clock = Clock(RUN_AT)
    rectification = lifecycle(services, clock)
    rectification.run_month(MONTH, source="test")
    with FakeBotApi() as api:
        api.latency = 1.0

        async def drain() -> None:
            bot = _slow_bot(api, read_timeout=0.3)
            async with bot:
                await outbox(bot, services, now=clock).drain(wait_for_retries=1.0)

        asyncio.run(drain())
        api.latency = 0.0
        clock.advance(days=2)
        assert rectification.follow_up().reminders == []
        clock.advance(days=1, minutes=1)
        assert len(rectification.follow_up().reminders) == 2
        assert rectification.follow_up().reminders == []  # once
        mark = api.mark()
        asyncio.run(drain())
        reminders = tally(services.engine, api, since=mark, kind="reminder")
        assert (reminders.notices, reminders.delivered, reminders.duplicates) == (2, 2, 0)
    services.close()
