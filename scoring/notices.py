"""Rectification notices (整改通报): what a notice says and when the monthly run happens.

Pure logic: no database, no Telegram. :mod:`scoring.rectification` feeds it the month's ranking
and stores what it returns.
"""

from __future__ import annotations

import calendar
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import chinese_calendar

from knowledge.privacy import mask_personal_data
from scoring.compute import UnitScore, round_half_up
from scoring.periods import Period, PeriodKind
from scoring.ranking import GroupRanking, RankedUnit

logger = logging.getLogger(__name__)

TOP_COSTS = 3
NOTES_PER_COST = 2
NOTE_CHARS = 60

# ---------------------------------------------------------------- the schedule

# Fixed-date statutory holidays (元旦, 劳动节, 国庆): the fallback for years the holiday
# calendar does not know yet still avoids them. Lunar holidays and 调休 cannot be guessed.
FIXED_HOLIDAYS = ((1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3))
_warned_years: set[int] = set()


def is_workday(day: date) -> bool:
    """A Chinese working day: public holidays and make-up working days (调休) included.

    For a year the ``chinese_calendar`` library has no data for, weekends and the
    fixed-date holidays count, and a warning says so once per year.
    """
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            logger.warning(
                "chinese_calendar has no holiday data for %s: weekends and fixed-date "
                "holidays only; upgrade chinese-calendar for this year's 调休",
                day.year,
            )
        return day.weekday() < 5 and (day.month, day.day) not in FIXED_HOLIDAYS


def previous_month(today: date) -> Period:
    """The month just ended on ``today``."""
    return Period.month(today.year, today.month).previous()


def run_date_for(
    month: Period, *, day: int = 1, workday: Callable[[date], bool] = is_workday
) -> date:
    """When the notices for ``month`` go out: ``day`` of the next month, or the next working
    day after it when that is a weekend or a public holiday."""
    if month.kind is not PeriodKind.MONTH:
        raise ValueError("整改通报按月发布，请指定月份，如 2026-10")
    year, number = (month.year + 1, 1) if month.index == 12 else (month.year, month.index + 1)
    candidate = date(year, number, min(day, calendar.monthrange(year, number)[1]))
    for _ in range(60):
        if workday(candidate):
            return candidate
        candidate += timedelta(days=1)
    raise ValueError(f"{candidate} 前后 60 天没有工作日，请检查节假日数据")


def deadline_for(issued: date, days: int) -> date:
    """The last day to report measures: ``days`` calendar days after the notice."""
    return issued + timedelta(days=days)


# ---------------------------------------------------------------- the notice


@dataclass(frozen=True)
class CostingIndicator:
    """An indicator that cost the unit points in the month, with its rule text."""

    code: str
    name: str
    points: Decimal  # points lost (a positive number)
    standard: str
    notes: tuple[str, ...] = ()  # ledger notes behind it, already masked


@dataclass(frozen=True)
class NoticeContent:
    """Everything one rectification notice says. Points are exact decimals."""

    unit_code: str
    unit_name: str
    group: str
    month: str  # "2026-10"
    month_label: str  # "2026年10月"
    score: Decimal
    rank: int
    group_size: int
    group_average: Decimal
    below_average: Decimal  # group average − score (never negative)
    to_leave_bottom: Decimal | None  # points to the line above the bottom
    leave_strictly: bool  # the line must be exceeded, not just reached
    bottom: bool  # 末位 by rank
    below_alert: bool  # 预警
    alert_threshold: Decimal
    costs: tuple[CostingIndicator, ...]
    deadline: date

    def as_json(self) -> dict[str, Any]:
        """A JSON-safe dict (decimals as strings)."""

        def plain(value: Any) -> Any:
            if isinstance(value, Decimal):
                return str(value)
            if isinstance(value, date):
                return value.isoformat()
            if isinstance(value, list | tuple):
                return [plain(v) for v in value]
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            return value

        result = plain(asdict(self))
        assert isinstance(result, dict)
        return result


@dataclass(frozen=True)
class IndicatorText:
    """An indicator's name and scoring standard (评分标准)."""

    name: str
    standard: str


def costing_indicators(
    detail: UnitScore | None,
    texts: Mapping[str, IndicatorText],
    notes: Mapping[str, Sequence[str]],
    *,
    limit: int = TOP_COSTS,
) -> tuple[CostingIndicator, ...]:
    """The indicators that cost the most points, largest loss first (ties by code)."""
    if detail is None:
        return ()
    losing = sorted(
        (line for line in detail.lines if line.effect < 0),
        key=lambda line: (line.effect, line.code),
    )
    result = []
    for line in losing[:limit]:
        text = texts.get(line.code, IndicatorText(line.name, ""))
        kept = [mask_personal_data(n.strip())[:NOTE_CHARS] for n in notes.get(line.code, ()) if n]
        result.append(
            CostingIndicator(
                code=line.code,
                name=text.name or line.name,
                points=-line.effect,
                standard=mask_personal_data(text.standard),
                notes=tuple(kept[:NOTES_PER_COST]),
            )
        )
    return tuple(result)


def flagged_units(groups: Iterable[GroupRanking]) -> list[tuple[GroupRanking, RankedUnit]]:
    """Every unit that gets a notice (末位 or 预警, see :class:`RankedUnit`), group by group."""
    return [(group, unit) for group in groups for unit in group.units if unit.flagged]


def build_notice_content(
    *,
    month: Period,
    group: GroupRanking,
    unit: RankedUnit,
    detail: UnitScore | None,
    texts: Mapping[str, IndicatorText],
    notes: Mapping[str, Sequence[str]],
    alert_threshold: Decimal,
    deadline: date,
) -> NoticeContent:
    """The notice for one bottom-ranked unit of ``group`` in ``month``."""
    average = sum((u.score for u in group.units), Fraction(0)) / len(group.units)
    gap = unit.to_leave_bottom
    return NoticeContent(
        unit_code=unit.unit_code,
        unit_name=mask_personal_data(unit.name),
        group=group.group,
        month=month.code,
        month_label=month.label,
        score=round_half_up(unit.score),
        rank=unit.rank,
        group_size=len(group.units),
        group_average=round_half_up(average),
        below_average=round_half_up(max(average - unit.score, Fraction(0))),
        to_leave_bottom=round_half_up(gap.points) if gap is not None else None,
        leave_strictly=gap.strict if gap is not None else False,
        bottom=unit.bottom,
        below_alert=unit.alert,
        alert_threshold=alert_threshold,
        costs=costing_indicators(detail, texts, notes),
        deadline=deadline,
    )
