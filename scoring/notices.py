"""Rectification notices (整改通报): what a notice says, when the monthly run happens, and
masking personal identifiers out of anything sent.

Pure logic: no database, no Telegram. :mod:`scoring.rectification` feeds it the month's ranking
and stores what it returns.
"""

from __future__ import annotations

import calendar
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import chinese_calendar

from scoring.compute import UnitScore, round_half_up
from scoring.periods import Period, PeriodKind
from scoring.ranking import GroupRanking, RankedUnit

logger = logging.getLogger(__name__)

TOP_COSTS = 3
NOTES_PER_COST = 2
NOTE_CHARS = 60

# ---------------------------------------------------------------- masking

_FULL_WIDTH = str.maketrans("０１２３４５６７８９＋－Ｘｘ（）　", "0123456789+-Xx() ")
_D = r"[0-9]"
_NOT_DIGIT_BEFORE = r"(?<![0-9A-Za-z])"
_NOT_DIGIT_AFTER = r"(?![0-9A-Za-z])"
_SEP = r"[ \-]?"

ID_MASK = "[证件号已隐去]"
PHONE_MASK = "[电话已隐去]"
ADDRESS_MASK = "[地址已隐去]"
NUMBER_MASK = "[号码已隐去]"

# 18-digit resident ID (last character may be X), also written in groups separated by
# single spaces or dashes, and the old 15-digit form.
_ID_18 = re.compile(
    _NOT_DIGIT_BEFORE + rf"{_D}(?:{_SEP}{_D}){{16}}{_SEP}[0-9Xx]" + _NOT_DIGIT_AFTER
)
_ID_15 = re.compile(_NOT_DIGIT_BEFORE + rf"{_D}{{15}}" + _NOT_DIGIT_AFTER)
# Mainland mobiles: 1[3-9]x xxxx xxxx, optionally +86 / 0086 / (+86), spaces or dashes.
_MOBILE = re.compile(
    r"(?<![0-9A-Za-z])(?:(?:\(\+?86\)|(?:\+|00)?86)[ \-]?)?"
    + r"1[3-9][0-9][ \-]?[0-9]{4}[ \-]?[0-9]{4}"
    + _NOT_DIGIT_AFTER
)
# Landlines with an area code: 0512-12345678, (0512)12345678, 010 1234 5678, ext. optional.
_LANDLINE = re.compile(
    _NOT_DIGIT_BEFORE
    + r"(?:\(0[0-9]{2,3}\)|0[0-9]{2,3})[ \-]?[0-9]{3,4}[ \-]?[0-9]{4}(?:(?:-|转)[0-9]{1,5})?"
    + _NOT_DIGIT_AFTER
)
# Any other run of 11 or more digits is a number nobody needs to read in a notice.
_LONG_NUMBER = re.compile(r"(?<![0-9])[0-9]{11,}(?![0-9])")
_NUM = r"[0-9一二三四五六七八九十百零〇]+"
# A Chinese character that can be part of a place name (not 住址, 家住, 位于, 在 …), so
# that "家住苏州市…" masks the address and keeps "家住".
_HAN = r"(?:(?![住址家在于是的为和与及到])[\u4e00-\u9fa5])"
_DIVISION = rf"(?:{_HAN}{{1,6}}?(?:省|自治区|市|区|县|镇|乡|街道|村))"
# A street with a house number (…路 88 号, …巷 3 弄), optionally with the divisions before it
# and the building / unit / room after it.
_STREET = rf"{_HAN}{{1,6}}?(?:大道|路|街|巷|道|弄|里){_NUM}(?:号|弄)"
_BUILDING = rf"(?:{_NUM}|[A-Za-z])(?:号楼|栋|幢|座|单元|室|楼|号)"
_ADDRESS = re.compile(
    rf"{_DIVISION}*{_STREET}(?:[\-—]?{_BUILDING})*"
    + rf"|{_DIVISION}*{_HAN}{{1,8}}?(?:小区|花园|新村|公寓|苑){_BUILDING}+"
    + rf"|(?<![0-9])[0-9]{{1,4}}(?:号楼|栋|幢)(?:{_NUM}(?:单元))?(?:[0-9]{{1,5}}室?)?"
)


def _spans(pattern: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    return [match.span() for match in pattern.finditer(text)]


def mask_identifiers(text: str) -> str:
    """The text with ID-card numbers, phone numbers and street addresses masked.

    Full-width digits are read as digits. Masking is idempotent and never shortens the
    surrounding text.
    """
    if not text:
        return text
    plain = text.translate(_FULL_WIDTH)  # one character for one: positions are unchanged
    result = text
    for pattern, mask in (
        (_ID_18, ID_MASK),
        (_ID_15, ID_MASK),
        (_MOBILE, PHONE_MASK),
        (_LANDLINE, PHONE_MASK),
        (_LONG_NUMBER, NUMBER_MASK),
        (_ADDRESS, ADDRESS_MASK),
    ):
        spans = _spans(pattern, plain)
        for start, end in reversed(spans):
            result = result[:start] + mask + result[end:]
            plain = plain[:start] + mask + plain[end:]
    return result


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
        kept = [mask_identifiers(n.strip())[:NOTE_CHARS] for n in notes.get(line.code, ()) if n]
        result.append(
            CostingIndicator(
                code=line.code,
                name=text.name or line.name,
                points=-line.effect,
                standard=mask_identifiers(text.standard),
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
        unit_name=mask_identifiers(unit.name),
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
