"""When the monthly notices go out: the 1st, moved past weekends, public holidays and onto
make-up working days (调休), across month and year ends; and the bot's own clock check."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time

import pytest

from bot.services import Services
from scoring import entry, notices
from scoring.notices import is_workday, previous_month, run_date_for
from scoring.periods import Period
from scoring.rectification import NoticeError, Rectification
from tests.notices_helpers import Clock, lifecycle, notice_settings
from tests.telegram_helpers import seed


@pytest.mark.parametrize(
    ("month", "day", "expected"),
    [
        # 2026-10-01 is National Day: the holiday runs to 10-07, so Thursday 10-08.
        (Period.month(2026, 9), 1, date(2026, 10, 8)),
        # 2026-08-01 is a Saturday: Monday 08-03.
        (Period.month(2026, 7), 1, date(2026, 8, 3)),
        # 2026-11-01 is a Sunday: Monday 11-02.
        (Period.month(2026, 10), 1, date(2026, 11, 2)),
        # Year end: 2026-01-01..03 are New Year holidays and Sunday 01-04 is a make-up day.
        (Period.month(2025, 12), 1, date(2026, 1, 4)),
        # A make-up working day on a Saturday stays put (2026-02-14, before the Spring Festival).
        (Period.month(2026, 1), 14, date(2026, 2, 14)),
        # Spring Festival 2026: 02-15..02-23 off, so a run set for the 16th waits for the 24th.
        (Period.month(2026, 1), 16, date(2026, 2, 24)),
        # An ordinary working day.
        (Period.month(2026, 3), 1, date(2026, 4, 1)),
        # A day beyond the month's end is clipped to its last day (February).
        (Period.month(2026, 1), 28, date(2026, 2, 28)),
    ],
)
def test_run_date_moves_to_the_next_working_day(month: Period, day: int, expected: date) -> None:
    assert run_date_for(month, day=day) == expected


def test_make_up_days_are_working_days_and_holidays_are_not() -> None:
    assert is_workday(date(2026, 1, 4))  # Sunday, 调休
    assert is_workday(date(2026, 10, 10))  # Saturday, 调休
    assert not is_workday(date(2026, 10, 5))  # Monday, National Day holiday
    assert not is_workday(date(2026, 8, 1))  # Saturday


def test_a_year_the_calendar_does_not_know_falls_back_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    notices._warned_years.discard(2099)
    with caplog.at_level(logging.WARNING, logger="scoring.notices"):
        # 2099-01-01 is a Thursday but New Year's Day: the fixed-date fallback skips it.
        assert run_date_for(Period.month(2098, 12)) == date(2099, 1, 2)
        # Saturday 2099-08-01 → Monday 08-03, weekends only.
        assert run_date_for(Period.month(2099, 7)) == date(2099, 8, 3)
    warnings = [r for r in caplog.records if "no holiday data for 2099" in r.getMessage()]
    assert len(warnings) == 1


def test_previous_month_crosses_the_year() -> None:
    assert previous_month(date(2027, 1, 4)) == Period.month(2026, 12)
    assert previous_month(date(2026, 10, 9)) == Period.month(2026, 9)


def _rectification(database_url: str, clock: Clock, **overrides: object) -> Rectification:
    services = Services(notice_settings(database_url, **overrides))
    seed(services)
    return lifecycle(services, clock)


def test_the_bot_runs_a_month_once_on_its_moved_run_date(database_url: str) -> None:
    # National Day: September's notices are due Thursday 2026-10-08 at 09:00 Shanghai.
    clock = Clock(datetime(2026, 10, 1, 1, 0, tzinfo=UTC))
    rectification = _rectification(database_url, clock)
    assert rectification.due_month() is None  # a holiday
    clock.now = datetime(2026, 10, 8, 0, 59, tzinfo=UTC)  # 08:59 local
    assert rectification.due_month() is None
    clock.now = datetime(2026, 10, 8, 1, 0, tzinfo=UTC)  # 09:00 local
    assert rectification.due_month() == Period.month(2026, 9)
    with pytest.raises(NoticeError, match="本期尚无考核数据"):
        rectification.run_month(Period.month(2026, 9), source="test")  # an empty month
    assert rectification.due_month() == Period.month(2026, 9)  # still due: nothing ran
    with rectification.session() as session:
        entry.add_entry(
            session=session,
            unit="NB01",
            indicator="JF-01",
            points="1",
            entry_date=date(2026, 9, 10),
            note="表扬",
            entered_by="test",
            today=date(2026, 10, 8),
        )
    rectification.run_month(Period.month(2026, 9), source="test")
    assert rectification.due_month() is None  # ran already
    rectification.engine.dispose()


def test_a_bot_that_was_down_catches_up_within_the_window(database_url: str) -> None:
    clock = Clock(datetime(2026, 11, 4, 3, 0, tzinfo=UTC))  # run date was Monday 11-02
    rectification = _rectification(database_url, clock, notice_catch_up_days=3)
    assert rectification.due_month() == Period.month(2026, 10)
    clock.now = datetime(2026, 11, 6, 3, 0, tzinfo=UTC)  # past 11-02 + 3 days
    assert rectification.due_month() is None
    rectification.engine.dispose()


def test_day_time_and_zone_are_settings(database_url: str) -> None:
    clock = Clock(datetime(2026, 4, 15, 14, 30, tzinfo=UTC))  # Wednesday the 15th
    rectification = _rectification(
        database_url, clock, notice_day=15, notice_time=time(14, 30), timezone="UTC"
    )
    assert rectification.due_month() == Period.month(2026, 3)
    clock.now = datetime(2026, 4, 15, 14, 29, tzinfo=UTC)
    assert rectification.due_month() is None
    rectification.engine.dispose()


def test_a_run_moved_into_the_next_month_is_still_found(database_url: str) -> None:
    # Notice day 28: January's run is Saturday 02-28, a make-up working day (调休).
    clock = Clock(datetime(2026, 2, 28, 1, 0, tzinfo=UTC))
    rectification = _rectification(database_url, clock, notice_day=28)
    assert run_date_for(Period.month(2026, 1), day=28) == date(2026, 2, 28)
    assert rectification.due_month() == Period.month(2026, 1)
    rectification.engine.dispose()
