"""The rulebook (考评指标细则) as plain, immutable domain objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any


class IndicatorType(StrEnum):
    """How an indicator moves a score."""

    QUANTITATIVE = "定量指标"
    BONUS = "加分项"
    DEDUCTION = "减分项"


class Cycle(StrEnum):
    """How often an indicator is assessed."""

    DAY = "日"
    MONTH = "月"
    QUARTER = "季"
    HALF_YEAR = "半年"
    YEAR = "年"


class Level(StrEnum):
    """The three levels of interpretation, in the order they are given."""

    OFFICE = "绩效办"
    SECTION = "股室"
    BRANCH = "派出机构"


TYPE_SPELLINGS: dict[str, IndicatorType] = {
    "定量指标": IndicatorType.QUANTITATIVE,
    "定量": IndicatorType.QUANTITATIVE,
    "quantitative": IndicatorType.QUANTITATIVE,
    "加分项": IndicatorType.BONUS,
    "加分": IndicatorType.BONUS,
    "bonus": IndicatorType.BONUS,
    "减分项": IndicatorType.DEDUCTION,
    "减分": IndicatorType.DEDUCTION,
    "扣分项": IndicatorType.DEDUCTION,
    "deduction": IndicatorType.DEDUCTION,
}

CYCLE_SPELLINGS: dict[str, Cycle] = {
    "日": Cycle.DAY,
    "每日": Cycle.DAY,
    "day": Cycle.DAY,
    "月": Cycle.MONTH,
    "月度": Cycle.MONTH,
    "每月": Cycle.MONTH,
    "month": Cycle.MONTH,
    "季": Cycle.QUARTER,
    "季度": Cycle.QUARTER,
    "quarter": Cycle.QUARTER,
    "半年": Cycle.HALF_YEAR,
    "半年度": Cycle.HALF_YEAR,
    "half-year": Cycle.HALF_YEAR,
    "年": Cycle.YEAR,
    "年度": Cycle.YEAR,
    "year": Cycle.YEAR,
}

LEVEL_SPELLINGS: dict[str, Level] = {
    "绩效办": Level.OFFICE,
    "office": Level.OFFICE,
    "股室": Level.SECTION,
    "section": Level.SECTION,
    "派出机构": Level.BRANCH,
    "branch": Level.BRANCH,
}


@dataclass(frozen=True)
class Interpretation:
    """One level's reading of an indicator (解读)."""

    level: Level
    text: str


@dataclass(frozen=True)
class Faq:
    """A question staff ask about an indicator, with the office's answer."""

    q: str
    a: str


@dataclass(frozen=True)
class Indicator:
    """One item of the rulebook."""

    code: str
    name: str
    type: IndicatorType
    points: Decimal
    category: str = ""
    cap: Decimal | None = None
    owner: str = ""
    cycle: Cycle | None = None
    standard: str = ""
    aliases: tuple[str, ...] = ()
    interpretations: tuple[Interpretation, ...] = ()
    faq: tuple[Faq, ...] = ()

    def interpretation(self, level: Level) -> str | None:
        """The text a given level wrote, if any."""
        for item in self.interpretations:
            if item.level is level:
                return item.text
        return None


@dataclass(frozen=True)
class IndicatorHeading:
    """What a list of indicators shows of each: code, name, type and category."""

    code: str
    name: str
    type: IndicatorType
    category: str = ""


@dataclass(frozen=True)
class Rulebook:
    """A whole rulebook file: its indicators plus the top-level keys kept as they came."""

    title: str
    year: int | None
    indicators: tuple[Indicator, ...]
    scoring: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # indicators given twice, word for word, in the file read: kept once (not part of equality)
    duplicates: int = field(default=0, compare=False)

    def by_code(self) -> dict[str, Indicator]:
        """Indicators keyed by their code."""
        return {item.code: item for item in self.indicators}
