"""From per-indicator totals to a unit's score, exactly.

A month or quarter is computed in integer hundredths (every input has at most two
decimals), so its score is an exact :class:`~decimal.Decimal`. Half-years and years are
means of quarters (thirds are possible) and a weighted review, so they are kept as
:class:`~fractions.Fraction`: ties stay real ties, and only the display is rounded
(half-up, two decimals).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from functools import cached_property
from typing import NamedTuple

from knowledge.points import HUNDRED, cents_of, decimal_of
from knowledge.rulebook import Indicator, IndicatorType
from scoring.rules import ScoringRules

Exact = Fraction | Decimal | int


def round_half_up(value: Exact) -> Decimal:
    """The value rounded half-up (away from zero) to two decimals, as the display shows it."""
    exact = Fraction(value)
    magnitude = abs(exact) * HUNDRED
    cents = int(magnitude + Fraction(1, 2))  # int() floors a non-negative Fraction
    return decimal_of(-cents if exact < 0 else cents)


class Limit(StrEnum):
    """Why an indicator counted less than its entries add up to."""

    NEGATIVE = "negative"  # corrections outweigh the points: the item counts 0
    CAP = "cap"  # the item's cap (上限) in one period
    FULL_POINTS = "full_points"  # a quantitative item cannot lose more than its full points


LIMIT_TEXT = {
    Limit.NEGATIVE: "合计为负，按 0 计",
    Limit.CAP: "达到单项上限",
    Limit.FULL_POINTS: "定量指标最多扣完该项分值",
}


class IndicatorTotal(NamedTuple):
    """The sum of one unit's entries on one indicator in a period (from SQL)."""

    indicator_code: str
    cents: int
    entries: int = 1


@dataclass(frozen=True)
class IndicatorLine:
    """How one indicator moved a unit's score in a period."""

    code: str
    name: str
    type: IndicatorType
    total: Decimal  # what the entries add up to
    counted: Decimal  # the magnitude that counts, after the floor at 0 and the limits
    limit: Limit | None
    limit_value: Decimal | None  # the cap or full points that cut in
    entries: int

    @property
    def effect(self) -> Decimal:
        """Signed effect on the score (before the period's bonus cap)."""
        return self.counted if self.type is IndicatorType.BONUS else -self.counted


@dataclass(frozen=True)
class IndicatorRule:
    """An indicator's limits in integer hundredths, prepared once per computation."""

    indicator: Indicator
    order: int  # display order of its type: quantitative, deduction, bonus
    cap: int | None
    full: int | None  # a quantitative indicator's full points

    @classmethod
    def of(cls, indicator: Indicator) -> IndicatorRule:
        """The prepared rule of an indicator."""
        return cls(
            indicator=indicator,
            order=TYPE_ORDER[indicator.type],
            cap=cents_of(indicator.cap) if indicator.cap is not None else None,
            full=cents_of(indicator.points)
            if indicator.type is IndicatorType.QUANTITATIVE
            else None,
        )


TYPE_ORDER = {IndicatorType.QUANTITATIVE: 0, IndicatorType.DEDUCTION: 1, IndicatorType.BONUS: 2}

# (rule, total, counted, limit, limit value, entries), all amounts in hundredths
_RawLine = tuple[IndicatorRule, int, int, Limit | None, int | None, int]


@dataclass(frozen=True)
class UnitScore:
    """A unit's score for a month or quarter, with every step behind it."""

    unit_code: str
    base: Decimal
    losses: Decimal  # quantitative indicators (定量指标)
    deductions: Decimal  # deduction items (减分项)
    bonuses: Decimal  # bonus items (加分项), after the period's bonus cap
    bonuses_before_cap: Decimal
    bonus_cap: Decimal | None
    unfloored: Decimal  # base − losses − deductions + bonuses
    score: Decimal  # never below 0
    raw_lines: tuple[_RawLine, ...] = field(default=(), repr=False, compare=False)

    @cached_property
    def lines(self) -> tuple[IndicatorLine, ...]:
        """Each indicator's line, quantitative first, then deductions, then bonuses."""
        ordered = sorted(self.raw_lines, key=lambda raw: (raw[0].order, raw[0].indicator.code))
        return tuple(
            IndicatorLine(
                code=rule.indicator.code,
                name=rule.indicator.name,
                type=rule.indicator.type,
                total=decimal_of(total),
                counted=decimal_of(counted),
                limit=limit,
                limit_value=decimal_of(limit_value) if limit_value is not None else None,
                entries=entries,
            )
            for rule, total, counted, limit, limit_value, entries in ordered
        )

    @property
    def bonus_capped(self) -> bool:
        """Whether the period's bonus cap cut the bonuses."""
        return self.bonuses < self.bonuses_before_cap

    @property
    def floored(self) -> bool:
        """Whether the floor at 0 applied."""
        return self.score != self.unfloored


def prepare_rules(indicators: Mapping[str, Indicator]) -> dict[str, IndicatorRule]:
    """Every indicator's limits in hundredths, for scoring many units."""
    return {code: IndicatorRule.of(item) for code, item in indicators.items()}


def _score(
    unit_code: str,
    totals: Iterable[IndicatorTotal],
    prepared: Mapping[str, IndicatorRule],
    rules: ScoringRules,
) -> UnitScore:
    losses = deductions = bonuses = 0
    raw: list[_RawLine] = []
    for item in totals:
        rule = prepared.get(item.indicator_code)
        if rule is None:
            raise ValueError(f"台账中的指标 {item.indicator_code} 不在细则中")
        total = item.cents
        limit: Limit | None = None
        limit_value: int | None = None
        if total <= 0:
            counted = 0
            if total < 0:
                limit = Limit.NEGATIVE
        else:
            counted = total
            if rule.cap is not None and counted > rule.cap:
                counted = limit_value = rule.cap
                limit = Limit.CAP
            if rule.full is not None and counted > rule.full:
                counted = limit_value = rule.full
                limit = Limit.FULL_POINTS
        if rule.order == 0:
            losses += counted
        elif rule.order == 1:
            deductions += counted
        else:
            bonuses += counted
        raw.append((rule, total, counted, limit, limit_value, item.entries))
    bonuses_before_cap = bonuses
    if rules.bonus_cap is not None:
        bonuses = min(bonuses, cents_of(rules.bonus_cap))
    base = cents_of(rules.base)
    unfloored = base - losses - deductions + bonuses
    return UnitScore(
        unit_code=unit_code,
        base=decimal_of(base),
        losses=decimal_of(losses),
        deductions=decimal_of(deductions),
        bonuses=decimal_of(bonuses),
        bonuses_before_cap=decimal_of(bonuses_before_cap),
        bonus_cap=rules.bonus_cap,
        unfloored=decimal_of(unfloored),
        score=decimal_of(max(unfloored, 0)),
        raw_lines=tuple(raw),
    )


def score_unit(
    unit_code: str,
    totals: Iterable[IndicatorTotal],
    indicators: Mapping[str, Indicator],
    rules: ScoringRules,
) -> UnitScore:
    """A unit's month or quarter score from its per-indicator totals.

    1. per indicator: a negative sum counts 0; the item's cap applies;
    2. a quantitative indicator loses at most its full points; deductions subtract;
       bonuses add;
    3. the bonuses together are capped by ``bonus_cap`` when it is set;
    4. score = base − losses − deductions + bonuses, never below 0.
    """
    totals = list(totals)
    used = {t.indicator_code for t in totals}
    prepared = {code: IndicatorRule.of(indicators[code]) for code in used if code in indicators}
    return _score(unit_code, totals, prepared, rules)


def score_units(
    totals: Iterable[tuple[str, IndicatorTotal]],
    unit_codes: Iterable[str],
    indicators: Mapping[str, Indicator],
    rules: ScoringRules,
) -> dict[str, UnitScore]:
    """Scores of many units from ``(unit code, total)`` rows; units without rows score base."""
    by_unit: dict[str, list[IndicatorTotal]] = {code: [] for code in unit_codes}
    for unit_code, total in totals:
        by_unit.setdefault(unit_code, []).append(total)
    prepared = prepare_rules(indicators)
    return {code: _score(code, rows, prepared, rules) for code, rows in by_unit.items()}


def mean(scores: Sequence[Exact]) -> Fraction:
    """The exact mean of quarter scores."""
    if not scores:
        raise ValueError("没有可计算的季度")
    return sum((Fraction(s) for s in scores), Fraction(0)) / len(scores)


def half_year_score(quarter_scores: Sequence[Exact]) -> Fraction:
    """A half-year: the mean of its quarters (those begun so far)."""
    return mean(quarter_scores)


def year_score(
    quarter_scores: Sequence[Exact], review: Decimal | None, rules: ScoringRules
) -> Fraction:
    """A year: (1 − w) × mean of quarters + w × review; without a review, the mean alone."""
    quarters = mean(quarter_scores)
    if review is None:
        return quarters
    weight = Fraction(rules.review_weight)
    return (1 - weight) * quarters + weight * Fraction(review)
