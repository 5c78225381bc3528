"""What the bot and the CLI ask: period scores, group rankings, one unit's breakdown.

The database sums the ledger per unit and indicator (:func:`db.scoring_store.indicator_totals`);
everything after that (limits, caps, means, review weight, ranks) happens here on those
few rows, exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlmodel import Session

from db import scoring_store
from db.scoring_store import UnitInfo
from knowledge.points import decimal_of
from knowledge.rulebook import Indicator, IndicatorType
from knowledge.rulebook_files import parse_rulebook_text
from scoring.compute import (
    LIMIT_TEXT,
    IndicatorTotal,
    UnitScore,
    half_year_score,
    round_half_up,
    score_units,
    year_score,
)
from scoring.entry import EntryView
from scoring.imports import Lookup
from scoring.periods import Period, PeriodKind
from scoring.ranking import Gap, GroupRanking, RankedUnit, Scored, rank_group, rank_groups
from scoring.rules import ScoringRules, rules_from_rulebook


class ScoringError(Exception):
    """A query that cannot be answered (no rulebook, unknown unit, period not begun…)."""


class NoDataError(ScoringError):
    """A period without a single ledger entry (or review): no ranking is published."""

    def __init__(self, period: Period) -> None:
        super().__init__(f"{period.label}：本期尚无考核数据，暂不发布排名。")
        self.period = period


def provisional_as_of(period: Period, today: date) -> date | None:
    """``today`` while ``period`` is still running (its figures are provisional), else None."""
    return today if today < period.end else None


@dataclass(frozen=True)
class ScoringContext:
    """What every computation needs: the rules and every indicator (retired ones too)."""

    rules: ScoringRules
    indicators: dict[str, Indicator]


_RULES_BY_VERSION: dict[str, ScoringRules] = {}


def load_context(*, session: Session) -> ScoringContext:
    """The scoring rules of the current rulebook and its indicators.

    The rules are parsed from the stored rulebook once per version (keyed by its hash).
    """
    key = scoring_store.latest_rulebook_key(session=session)
    if key is None:
        raise ScoringError("数据库中还没有考评指标细则，请先导入细则（kpibot rulebook import）。")
    version_id, sha = key
    rules = _RULES_BY_VERSION.get(sha)
    if rules is None:
        document, source = scoring_store.rulebook_document(session=session, version_id=version_id)
        stored = parse_rulebook_text(document, source=source)
        rules = rules_from_rulebook(stored.scoring, file=source)
        _RULES_BY_VERSION[sha] = rules
    indicators = {
        f.code: Indicator(
            code=f.code,
            name=f.name,
            type=IndicatorType(f.type),
            points=decimal_of(f.points_cents),
            cap=decimal_of(f.cap_cents) if f.cap_cents is not None else None,
        )
        for f in scoring_store.scoring_indicators(session=session)
    }
    return ScoringContext(rules=rules, indicators=indicators)


# ---------------------------------------------------------------- period scores


@dataclass(frozen=True)
class UnitPeriodScore:
    """A unit's exact score for any period, with what it is made of."""

    unit: UnitInfo
    period: Period
    score: Fraction
    detail: UnitScore | None = None  # a month or a quarter: the per-indicator breakdown
    quarters: tuple[tuple[Period, UnitScore], ...] = ()  # a half-year or year: its quarters
    review: Decimal | None = None  # a year: the year-end review, if recorded
    review_weight: Decimal | None = None  # a year: the review's share in the score

    @property
    def review_missing(self) -> bool:
        """A year scored without a year-end review (the mean of the quarters alone)."""
        return self.period.kind is PeriodKind.YEAR and self.review is None


@dataclass(frozen=True)
class PeriodScores:
    """Every asked unit's score for a period."""

    period: Period
    counted: tuple[Period, ...]  # the quarters (or the month/quarter itself) that count
    units: dict[str, UnitPeriodScore]
    rules: ScoringRules


def counted_periods(period: Period, today: date) -> tuple[Period, ...]:
    """The periods that make up ``period`` and have begun by ``today``."""
    if not period.started(today):
        raise ScoringError(f"{period.label}尚未开始（今天是 {today.isoformat()}），暂无得分。")
    if period.kind in (PeriodKind.MONTH, PeriodKind.QUARTER):
        return (period,)
    return tuple(q for q in period.quarters() if q.started(today))


def _units_for(session: Session, group: str | None) -> list[UnitInfo]:
    units = scoring_store.list_units(session=session, group=group)
    if group is not None and not units:
        groups = dict.fromkeys(u.group for u in scoring_store.list_units(session=session))
        raise ScoringError(f"没有分组“{group}”（现有分组：{'、'.join(groups) or '无'}）。")
    return units


def _any_entries(session: Session, counted: Sequence[Period]) -> bool:
    """Whether the period has any ledger entry at all (a group may have none of its own)."""
    return any(
        scoring_store.has_entries_between(session=session, start=p.start, end=p.end)
        for p in counted
    )


def period_scores(
    *,
    session: Session,
    period: Period,
    today: date,
    group: str | None = None,
    context: ScoringContext | None = None,
    units: Sequence[UnitInfo] | None = None,
) -> PeriodScores:
    """Scores of every unit (or one group's) for a month, quarter, half-year or year.

    ``units``, when given, are the units of ``group`` the caller already loaded.
    """
    context = context or load_context(session=session)
    counted = counted_periods(period, today)
    if units is None:
        units = _units_for(session, group)
    if not units:
        raise ScoringError("还没有考核对象，请先导入单位（kpibot units import）。")
    info = {u.code: u for u in units}
    per_period: list[dict[str, UnitScore]] = []
    seen_data = False
    for part in counted:
        rows = scoring_store.indicator_totals(
            session=session, start=part.start, end=part.end, group=group
        )
        seen_data = seen_data or any(r.unit_code in info for r in rows)
        totals = (
            (r.unit_code, IndicatorTotal(r.indicator_code, r.cents, r.entries))
            for r in rows
            if r.unit_code in info
        )
        per_period.append(score_units(totals, info, context.indicators, context.rules))
    rules = context.rules
    reviews: dict[str, int] = {}
    if period.kind is PeriodKind.YEAR:
        reviews = scoring_store.latest_reviews(session=session, year=period.year)
    if not seen_data and not reviews and not _any_entries(session, counted):
        raise NoDataError(period)
    result: dict[str, UnitPeriodScore] = {}
    if period.kind in (PeriodKind.MONTH, PeriodKind.QUARTER):
        for code, detail in per_period[0].items():
            score = Fraction(detail.score)
            result[code] = UnitPeriodScore(info[code], period, score, detail=detail)
        return PeriodScores(period, counted, result, rules)
    for code in info:
        quarters = tuple((q, scores[code]) for q, scores in zip(counted, per_period, strict=True))
        quarter_scores = [s.score for _, s in quarters]
        if period.kind is PeriodKind.HALF:
            result[code] = UnitPeriodScore(
                info[code], period, half_year_score(quarter_scores), quarters=quarters
            )
            continue
        review = decimal_of(reviews[code]) if code in reviews else None
        result[code] = UnitPeriodScore(
            info[code],
            period,
            year_score(quarter_scores, review, rules),
            quarters=quarters,
            review=review,
            review_weight=rules.review_weight,
        )
    return PeriodScores(period, counted, result, rules)


# ---------------------------------------------------------------- ranking


def _number(value: Fraction | Decimal) -> float:
    """A JSON number: the exact value rounded half-up to two decimals."""
    return float(round_half_up(value))


def gap_json(gap: Gap | None) -> dict[str, Any] | None:
    """A gap as JSON."""
    if gap is None:
        return None
    return {"target": _number(gap.target), "strict": gap.strict, "points": _number(gap.points)}


@dataclass(frozen=True)
class Ranking:
    """A period's ranking, group by group."""

    period: Period
    counted: tuple[Period, ...]
    groups: list[GroupRanking]
    scores: dict[str, UnitPeriodScore]
    rules: ScoringRules
    as_of: date | None = None  # set while the period runs: the ranking is provisional

    def as_json(self) -> dict[str, Any]:
        """The documented JSON shape (plus the period's label and the quarters counted)."""
        groups = []
        for group in self.groups:
            units = []
            for unit in group.units:
                item: dict[str, Any] = {
                    "rank": unit.rank,
                    "unit": unit.unit_code,
                    "name": unit.name,
                    "score": _number(unit.score),
                    "bottom": unit.bottom,
                    "alert": unit.alert,
                }
                if self.period.kind is PeriodKind.YEAR:
                    item["review_missing"] = self.scores[unit.unit_code].review_missing
                units.append(item)
            groups.append({"group": group.group, "units": units})
        return {
            "period": self.period.code,
            "label": self.period.label,
            "counted": [p.code for p in self.counted],
            "provisional": self.as_of is not None,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "groups": groups,
        }


def _scored(scores: PeriodScores) -> list[Scored]:
    return [Scored(s.unit.code, s.unit.name, s.unit.group, s.score) for s in scores.units.values()]


def rank_period(
    *, session: Session, period: Period, today: date, group: str | None = None
) -> Ranking:
    """Every group's ranking for a period (or one group's)."""
    scores = period_scores(session=session, period=period, today=today, group=group)
    groups = rank_groups(_scored(scores), scores.rules)
    return Ranking(
        period,
        scores.counted,
        groups,
        scores.units,
        scores.rules,
        as_of=provisional_as_of(period, today),
    )


# ---------------------------------------------------------------- one unit's breakdown


@dataclass(frozen=True)
class Explanation:
    """Everything behind one unit's number for a period."""

    score: UnitPeriodScore
    ranked: RankedUnit
    group: GroupRanking
    counted: tuple[Period, ...]
    rules: ScoringRules
    entries: dict[str, list[EntryView]] = field(default_factory=dict)  # by indicator code
    above: RankedUnit | None = None  # the unit just above, when there is one
    as_of: date | None = None  # set while the period runs: the figures are provisional

    @property
    def period(self) -> Period:
        """The period explained."""
        return self.score.period

    def as_json(self) -> dict[str, Any]:
        """The breakdown as JSON (numbers rounded half-up to two decimals)."""
        unit = self.score.unit
        data: dict[str, Any] = {
            "period": self.period.code,
            "label": self.period.label,
            "unit": unit.code,
            "name": unit.name,
            "group": unit.group,
            "score": _number(self.score.score),
            "rank": self.ranked.rank,
            "group_size": len(self.group.units),
            "bottom": self.ranked.bottom,
            "bottom_by_rank": self.ranked.bottom_by_rank,
            "alert": self.ranked.alert,
            "below_alert": self.ranked.below_alert,
            "provisional": self.as_of is not None,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "alert_threshold": _number(self.rules.alert_threshold),
            "to_pass_above": gap_json(self.ranked.to_pass_above),
            "above": (
                {"unit": self.above.unit_code, "name": self.above.name} if self.above else None
            ),
            "to_leave_bottom": gap_json(self.ranked.to_leave_bottom),
        }
        if self.score.detail is not None:
            data.update(detail_json(self.score.detail, self.entries))
        else:
            data["counted"] = [p.code for p in self.counted]
            data["quarters"] = [
                {"period": q.code, "label": q.label, **detail_json(s, {})}
                for q, s in self.score.quarters
            ]
            if self.period.kind is PeriodKind.YEAR:
                review = self.score.review
                data["review"] = _number(review) if review is not None else None
                data["review_weight"] = float(self.rules.review_weight)
                data["review_missing"] = self.score.review_missing
        return data


def entry_json(entry: EntryView) -> dict[str, Any]:
    """One ledger entry as JSON."""
    return {
        "id": entry.id,
        "date": entry.entry_date.isoformat(),
        "unit": entry.unit_code,
        "indicator": entry.indicator_code,
        "points": _number(entry.points),
        "note": entry.note,
        "source": entry.source,
        "entered_by": entry.entered_by,
        "external_id": entry.external_id,
        "reverses": entry.reverses_id,
        "recorded_at": entry.recorded_at.isoformat(),
    }


def detail_json(detail: UnitScore, entries: dict[str, list[EntryView]]) -> dict[str, Any]:
    """A month or quarter breakdown as JSON."""
    return {
        "base": _number(detail.base),
        "indicators": [
            {
                "code": line.code,
                "name": line.name,
                "type": line.type.value,
                "total": _number(line.total),
                "counted": _number(line.counted),
                "effect": _number(line.effect),
                "limit": line.limit.value if line.limit else None,
                "limit_text": LIMIT_TEXT[line.limit] if line.limit else None,
                "limit_value": _number(line.limit_value) if line.limit_value is not None else None,
                "entries": [entry_json(e) for e in entries.get(line.code, [])],
            }
            for line in detail.lines
        ],
        "losses": _number(detail.losses),
        "deductions": _number(detail.deductions),
        "bonuses": _number(detail.bonuses),
        "bonuses_before_cap": _number(detail.bonuses_before_cap),
        "bonus_cap": _number(detail.bonus_cap) if detail.bonus_cap is not None else None,
        "unfloored": _number(detail.unfloored),
        "period_score": _number(detail.score),
    }


def explain_unit(*, session: Session, unit: str, period: Period, today: date) -> Explanation:
    """One unit's score, its breakdown and the entries behind it, its rank and its gaps."""
    context = load_context(session=session)
    found = scoring_store.get_unit(session=session, code=unit.strip())
    if found is None:  # not an exact code: a code in another case, or a name
        all_units = scoring_store.list_units(session=session)
        try:
            code = Lookup.build("单位", ((u.code, u.name) for u in all_units)).resolve(unit)
        except ValueError as exc:
            raise ScoringError(f"{exc}。可用 kpibot units list 查看单位。") from exc
        found = next(u for u in all_units if u.code == code)
    code, group = found.code, found.group
    members = scoring_store.list_units(session=session, group=group)
    scores = period_scores(
        session=session, period=period, today=today, group=group, context=context, units=members
    )
    ranking = rank_group(group, _scored(scores), scores.rules)
    ranked = ranking.find(code)
    assert ranked is not None
    above = None
    if ranked.to_pass_above is not None:
        target = ranked.to_pass_above.target
        above = [u for u in ranking.units if u.score == target][-1]
    entries: dict[str, list[EntryView]] = {}
    if period.kind in (PeriodKind.MONTH, PeriodKind.QUARTER):
        records = scoring_store.list_entries(
            session=session, unit_code=code, start=period.start, end=period.end
        )
        for record in reversed(records):  # oldest first within each indicator
            entries.setdefault(record.indicator_code, []).append(EntryView.of(record))
    return Explanation(
        score=scores.units[code],
        ranked=ranked,
        group=ranking,
        counted=scores.counted,
        rules=scores.rules,
        entries=entries,
        above=above,
        as_of=provisional_as_of(period, today),
    )
