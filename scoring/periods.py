"""Appraisal periods: months, quarters, half-years and years, in the forms people write them.

The canonical codes are ``2026-03``, ``2026-Q1``, ``2026-H1`` and ``2026``; friendlier forms
(``2026Q1``, ``2026年第一季度``, ``2026年3月``, ``本月``, ``上季度``…) are read relative to a
given ``today`` so that tests and the bot agree on what "this quarter" means.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class PeriodKind(StrEnum):
    """The length of a period."""

    MONTH = "month"
    QUARTER = "quarter"
    HALF = "half"
    YEAR = "year"


CHINESE_NUMBERS = {
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "十": 10,
    "十一": 11,
    "十二": 12,
}
QUARTER_NAMES = ("一", "二", "三", "四")
MONTHS_IN = {PeriodKind.MONTH: 1, PeriodKind.QUARTER: 3, PeriodKind.HALF: 6, PeriodKind.YEAR: 12}
LAST_INDEX = {PeriodKind.MONTH: 12, PeriodKind.QUARTER: 4, PeriodKind.HALF: 2, PeriodKind.YEAR: 1}
MIN_YEAR = 2000
MAX_YEAR = 2100


@dataclass(frozen=True, order=True)
class Period:
    """A calendar period; ``index`` is the month (1-12), quarter (1-4) or half (1-2)."""

    year: int
    kind: PeriodKind
    index: int = 1

    def __post_init__(self) -> None:
        if not MIN_YEAR <= self.year <= MAX_YEAR:
            raise ValueError(f"年份 {self.year} 超出范围（{MIN_YEAR}–{MAX_YEAR}）")
        if not 1 <= self.index <= LAST_INDEX[self.kind]:
            raise ValueError(f"期间序号 {self.index} 不正确")

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        """A calendar month."""
        return cls(year, PeriodKind.MONTH, month)

    @classmethod
    def quarter(cls, year: int, quarter: int) -> Period:
        """A calendar quarter."""
        return cls(year, PeriodKind.QUARTER, quarter)

    @classmethod
    def half(cls, year: int, half: int) -> Period:
        """A half-year."""
        return cls(year, PeriodKind.HALF, half)

    @classmethod
    def whole_year(cls, year: int) -> Period:
        """A calendar year."""
        return cls(year, PeriodKind.YEAR, 1)

    @property
    def first_month(self) -> int:
        """The calendar month the period starts in."""
        return (self.index - 1) * MONTHS_IN[self.kind] + 1

    @property
    def months(self) -> int:
        """How many months the period spans."""
        return MONTHS_IN[self.kind]

    @property
    def start(self) -> date:
        """The first day."""
        return date(self.year, self.first_month, 1)

    @property
    def end(self) -> date:
        """The day after the last day (exclusive bound)."""
        month = self.first_month + self.months
        return date(self.year + 1, 1, 1) if month > 12 else date(self.year, month, 1)

    @property
    def code(self) -> str:
        """The canonical code: ``2026-03``, ``2026-Q1``, ``2026-H1`` or ``2026``."""
        if self.kind is PeriodKind.MONTH:
            return f"{self.year}-{self.index:02d}"
        if self.kind is PeriodKind.QUARTER:
            return f"{self.year}-Q{self.index}"
        if self.kind is PeriodKind.HALF:
            return f"{self.year}-H{self.index}"
        return str(self.year)

    @property
    def label(self) -> str:
        """The Chinese name: ``2026年3月``, ``2026年第一季度``, ``2026年上半年``, ``2026年度``."""
        if self.kind is PeriodKind.MONTH:
            return f"{self.year}年{self.index}月"
        if self.kind is PeriodKind.QUARTER:
            return f"{self.year}年第{QUARTER_NAMES[self.index - 1]}季度"
        if self.kind is PeriodKind.HALF:
            return f"{self.year}年{'上' if self.index == 1 else '下'}半年"
        return f"{self.year}年度"

    def __str__(self) -> str:
        return self.code

    def quarters(self) -> tuple[Period, ...]:
        """The quarters a half-year or year averages (a quarter is its own only quarter)."""
        if self.kind is PeriodKind.QUARTER:
            return (self,)
        if self.kind is PeriodKind.HALF:
            first = (self.index - 1) * 2 + 1
            return (Period.quarter(self.year, first), Period.quarter(self.year, first + 1))
        if self.kind is PeriodKind.YEAR:
            return tuple(Period.quarter(self.year, q) for q in range(1, 5))
        raise ValueError("月度期间不按季度构成")

    def contains(self, day: date) -> bool:
        """Whether a day falls in the period."""
        return self.start <= day < self.end

    def started(self, today: date) -> bool:
        """Whether the period has begun by ``today``."""
        return self.start <= today

    def previous(self) -> Period:
        """The period of the same kind just before this one."""
        if self.kind is PeriodKind.YEAR or self.index == 1:
            return Period(self.year - 1, self.kind, LAST_INDEX[self.kind])
        return Period(self.year, self.kind, self.index - 1)


def period_containing(day: date, kind: PeriodKind) -> Period:
    """The period of a kind that contains a day."""
    if kind is PeriodKind.MONTH:
        return Period.month(day.year, day.month)
    if kind is PeriodKind.QUARTER:
        return Period.quarter(day.year, (day.month - 1) // 3 + 1)
    if kind is PeriodKind.HALF:
        return Period.half(day.year, 1 if day.month <= 6 else 2)
    return Period.whole_year(day.year)


_YEAR_WORDS = {"今年": 0, "本年": 0, "本年度": 0, "去年": -1, "上年": -1, "上一年": -1, "明年": 1}
_YEAR_WORD = r"(?P<year>\d{4}年?|今年|本年|去年|上年|上一年|明年)"
_YEAR_PREFIX = _YEAR_WORD + "?"
_NUMBER = r"(?P<n>\d{1,2}|十[一二]?|[一二两三四五六七八九十])"

_PATTERNS: tuple[tuple[re.Pattern[str], PeriodKind], ...] = (
    (re.compile(r"^(?P<year>\d{4})$"), PeriodKind.YEAR),
    (re.compile(r"^(?P<year>\d{4})[-/.]?q(?P<n>[1-4])$"), PeriodKind.QUARTER),
    (re.compile(r"^(?P<year>\d{4})[-/.]?h(?P<n>[12])$"), PeriodKind.HALF),
    (re.compile(r"^(?P<year>\d{4})[-/.](?P<n>\d{1,2})$"), PeriodKind.MONTH),
    (re.compile(r"^(?P<year>\d{4})(?P<n>\d{2})$"), PeriodKind.MONTH),
    (re.compile("^" + _YEAR_WORD + r"(度|全年|整年)?$"), PeriodKind.YEAR),
    (re.compile("^" + _YEAR_PREFIX + r"(第)?" + _NUMBER + r"季度?$"), PeriodKind.QUARTER),
    (re.compile("^" + _YEAR_PREFIX + r"q(?P<n>[1-4])$"), PeriodKind.QUARTER),
    (re.compile("^" + _YEAR_PREFIX + r"(?P<half>上|下)半年度?$"), PeriodKind.HALF),
    (re.compile("^" + _YEAR_PREFIX + _NUMBER + r"月份?$"), PeriodKind.MONTH),
)

_RELATIVE: dict[str, tuple[PeriodKind, int]] = {
    "本月": (PeriodKind.MONTH, 0),
    "当月": (PeriodKind.MONTH, 0),
    "这个月": (PeriodKind.MONTH, 0),
    "这月": (PeriodKind.MONTH, 0),
    "上月": (PeriodKind.MONTH, -1),
    "上个月": (PeriodKind.MONTH, -1),
    "上一个月": (PeriodKind.MONTH, -1),
    "本季": (PeriodKind.QUARTER, 0),
    "本季度": (PeriodKind.QUARTER, 0),
    "当季": (PeriodKind.QUARTER, 0),
    "当季度": (PeriodKind.QUARTER, 0),
    "这个季度": (PeriodKind.QUARTER, 0),
    "这季度": (PeriodKind.QUARTER, 0),
    "上季": (PeriodKind.QUARTER, -1),
    "上季度": (PeriodKind.QUARTER, -1),
    "上个季度": (PeriodKind.QUARTER, -1),
    "上一季度": (PeriodKind.QUARTER, -1),
    "上一个季度": (PeriodKind.QUARTER, -1),
    "本半年": (PeriodKind.HALF, 0),
}

FORMS_HELP = "2026-03、2026-Q1、2026-H1、2026，或 2026年3月、2026年第一季度、本月、上季度 等"


def _number(text: str) -> int:
    return int(text) if text.isdigit() else CHINESE_NUMBERS[text]


def _year(text: str | None, today: date) -> int:
    if not text:
        return today.year
    if text in _YEAR_WORDS:
        return today.year + _YEAR_WORDS[text]
    return int(text.rstrip("年"))


def normalize_period_text(text: str) -> str:
    """Full-width to half-width, lower case, no spaces."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


def parse_period(text: str, *, today: date) -> Period:
    """A period from any supported spelling; ``ValueError`` (in Chinese) if it is not one."""
    cleaned = normalize_period_text(text)
    if not cleaned:
        raise ValueError(f"期间为空（可写 {FORMS_HELP}）")
    relative = _RELATIVE.get(cleaned)
    if relative is not None:
        relative_kind, step = relative
        period = period_containing(today, relative_kind)
        return period.previous() if step < 0 else period
    for pattern, kind in _PATTERNS:
        match = pattern.match(cleaned)
        if match is None:
            continue
        groups = match.groupdict()
        try:
            year = _year(groups.get("year"), today)
            if kind is PeriodKind.YEAR:
                return Period.whole_year(year)
            if kind is PeriodKind.HALF:
                if groups.get("half"):
                    return Period.half(year, 1 if groups["half"] == "上" else 2)
                return Period.half(year, _number(groups["n"]))
            number = _number(groups["n"])
            if kind is PeriodKind.QUARTER:
                return Period.quarter(year, number)
            return Period.month(year, number)
        except (ValueError, KeyError) as exc:
            raise ValueError(f"无法识别的期间“{text}”：{exc}（可写 {FORMS_HELP}）") from exc
    raise ValueError(f"无法识别的期间“{text}”（可写 {FORMS_HELP}）")
