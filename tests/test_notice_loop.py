"""The notice jobs' clock: daily at the set time where the bureau is, polls, drain on demand."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from bot.notice_loop import NoticeLoop, next_daily

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_next_daily_is_in_the_bureaus_time_zone() -> None:
    at = time(9, 0)
    # 00:30 UTC is 08:30 in Shanghai: today at 09:00 local, 01:00 UTC
    assert next_daily(datetime(2026, 12, 1, 0, 30, tzinfo=UTC), at, SHANGHAI) == datetime(
        2026, 12, 1, 9, 0, tzinfo=SHANGHAI
    )
    # 01:00 UTC exactly is 09:00 local: the next run is tomorrow
    assert next_daily(datetime(2026, 12, 1, 1, 0, tzinfo=UTC), at, SHANGHAI) == datetime(
        2026, 12, 2, 9, 0, tzinfo=SHANGHAI
    )
    # 23:00 UTC on the 1st is 07:00 on the 2nd in Shanghai: the 2nd at 09:00
    assert next_daily(datetime(2026, 12, 1, 23, 0, tzinfo=UTC), at, SHANGHAI) == datetime(
        2026, 12, 2, 9, 0, tzinfo=SHANGHAI
    )
    # 02:00 UTC on the 2nd is 10:00 there: the 3rd
    assert next_daily(datetime(2026, 12, 2, 2, 0, tzinfo=UTC), at, SHANGHAI) == datetime(
        2026, 12, 3, 9, 0, tzinfo=SHANGHAI
    )


async def test_steps_run_on_schedule_and_a_queueing_step_drains_at_once() -> None:
    calls: list[str] = []
    drained = asyncio.Event()
    followed = asyncio.Event()

    async def monthly() -> bool:
        calls.append("monthly")
        return True  # queued notices

    async def follow_up() -> bool:
        calls.append("follow-up")
        followed.set()
        return False

    async def drain() -> bool:
        calls.append("drain")
        if calls.count("drain") >= 2:
            drained.set()
        return False

    loop = NoticeLoop(
        monthly,
        follow_up,
        drain,
        at=time(9, 0),
        zone=SHANGHAI,
        follow_up_seconds=0.05,
        drain_seconds=3600,  # only the wake-up can cause the second drain in time
        now=lambda: datetime(2026, 12, 1, 0, 0, tzinfo=UTC),
    )
    await loop.start()
    try:
        await asyncio.wait_for(drained.wait(), 5)
        await asyncio.wait_for(followed.wait(), 5)
    finally:
        await loop.stop()
    assert calls[0] in ("monthly", "drain")
    assert calls.count("monthly") == 1  # the catch-up; the daily run is hours away


async def test_a_failing_step_does_not_stop_the_loop() -> None:
    runs = 0
    again = asyncio.Event()

    async def broken() -> bool:
        nonlocal runs
        runs += 1
        if runs >= 2:
            again.set()
        raise RuntimeError("database away")

    async def nothing() -> bool:
        return False

    loop = NoticeLoop(
        nothing,
        broken,
        nothing,
        at=time(9, 0),
        zone=SHANGHAI,
        follow_up_seconds=0.01,
        drain_seconds=3600,
        now=lambda: datetime(2026, 12, 1, tzinfo=UTC),
    )
    await loop.start()
    try:
        await asyncio.wait_for(again.wait(), 5)
    finally:
        await loop.stop()
    assert runs >= 2
