"""Invariants of scoring, checked on generated ledgers (hypothesis).

Pure properties run on :func:`scoring.compute.score_unit` and :func:`scoring.ranking.rank_group`;
database properties import generated files into the test database (SQLite, or PostgreSQL
when ``KPIBOT_TEST_DATABASE_URL`` says so) and compare with a plain-Python oracle. Each
database example writes its own units (own group) and its own year, so examples share the
migrated database without seeing each other.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db import rulebook_store
from db.schema import upgrade
from db.scoring_store import UnitInfo, upsert_units
from db.session import make_engine, session_scope
from knowledge.rulebook import Indicator, IndicatorType
from knowledge.rulebook_files import read_rulebook
from scoring import entry, queries
from scoring.compute import IndicatorTotal, score_unit
from scoring.periods import Period
from scoring.ranking import Scored, rank_group
from scoring.rules import ScoringRules, rules_from_rulebook
from tests.conftest import SAMPLE_RULEBOOK
from tests.scoring_helpers import write_csv

SAMPLE = read_rulebook(SAMPLE_RULEBOOK)
SAMPLE_RULES = rules_from_rulebook(SAMPLE.scoring)
# A mix of every type, with and without caps, with full points above and below the caps.
CODES = ("DL-01", "DL-02", "KF-01", "KF-02", "KF-17", "JF-01", "JF-02", "JF-10", "JF-13")
INDICATORS = {i.code: i for i in SAMPLE.indicators if i.code in CODES}
FAR_FUTURE = date(2100, 12, 31)

DB_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PURE_SETTINGS = settings(max_examples=200, deadline=None)


# ---------------------------------------------------------------- strategies

cents = st.integers(min_value=-800, max_value=2500).filter(lambda c: c != 0)
decimals = st.integers(min_value=0, max_value=3000).map(lambda c: Decimal(c).scaleb(-2))


@st.composite
def indicator_sets(draw: st.DrawFn) -> dict[str, Indicator]:
    items = {}
    for index in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(list(IndicatorType)))
        points = draw(st.integers(1, 2000).map(lambda c: Decimal(c).scaleb(-2)))
        cap = draw(st.none() | st.integers(1, 2000).map(lambda c: Decimal(c).scaleb(-2)))
        code = f"I{index}"
        items[code] = Indicator(code, code, kind, points, cap=cap)
    return items


@st.composite
def rule_sets(draw: st.DrawFn) -> ScoringRules:
    return ScoringRules(
        base=draw(st.integers(1, 20000).map(lambda c: Decimal(c).scaleb(-2))),
        bonus_cap=draw(st.none() | decimals),
        alert_threshold=draw(decimals),
        bottom_n=draw(st.integers(0, 3)),
    )


@st.composite
def unit_cases(draw: st.DrawFn) -> tuple[dict[str, Indicator], list[IndicatorTotal], ScoringRules]:
    indicators = draw(indicator_sets())
    codes = sorted(indicators)
    chosen = draw(st.lists(st.sampled_from(codes), unique=True))
    totals = [IndicatorTotal(code, draw(cents)) for code in chosen]
    return indicators, totals, draw(rule_sets())


@dataclass(frozen=True)
class Row:
    """One generated ledger row."""

    unit: int
    indicator: str
    cents: int
    day: int  # day of the year, 0-based


row = st.builds(
    Row,
    unit=st.integers(0, 4),
    indicator=st.sampled_from(CODES),
    cents=cents,
    day=st.integers(0, 364),
)
rows = st.lists(row, max_size=40)


# ---------------------------------------------------------------- pure properties


@PURE_SETTINGS
@given(unit_cases(), st.integers(1, 2000))
def test_a_deduction_never_raises_a_score(
    case: tuple[dict[str, Indicator], list[IndicatorTotal], ScoringRules], extra: int
) -> None:
    indicators, totals, rules = case
    before = score_unit("U", totals, indicators, rules).score
    for code, item in indicators.items():
        grown = [
            IndicatorTotal(t.indicator_code, t.cents + (extra if t.indicator_code == code else 0))
            for t in totals
        ]
        if code not in {t.indicator_code for t in totals}:
            grown.append(IndicatorTotal(code, extra))
        after = score_unit("U", grown, indicators, rules).score
        if item.type is IndicatorType.BONUS:
            assert after >= before
        else:
            assert after <= before


@PURE_SETTINGS
@given(unit_cases())
def test_caps_and_floors_hold(
    case: tuple[dict[str, Indicator], list[IndicatorTotal], ScoringRules],
) -> None:
    indicators, totals, rules = case
    result = score_unit("U", totals, indicators, rules)
    for line in result.lines:
        item = indicators[line.code]
        assert 0 <= line.counted <= max(line.total, Decimal(0))
        if item.cap is not None:
            assert line.counted <= item.cap
        if item.type is IndicatorType.QUANTITATIVE:
            assert line.counted <= item.points
        expected = max(line.total, Decimal(0))
        expected = min(expected, item.cap) if item.cap is not None else expected
        if item.type is IndicatorType.QUANTITATIVE:
            expected = min(expected, item.points)
        assert line.counted == expected
    if rules.bonus_cap is not None:
        assert result.bonuses <= rules.bonus_cap
    assert result.score >= 0
    assert result.score == max(
        Decimal(0), rules.base - result.losses - result.deductions + result.bonuses
    )


@PURE_SETTINGS
@given(
    st.lists(st.integers(0, 12000), min_size=1, max_size=12),
    st.integers(0, 3),
    st.integers(0, 12000),
)
def test_ranks_agree_with_scores(values: list[int], bottom_n: int, alert: int) -> None:
    rules = ScoringRules(bottom_n=bottom_n, alert_threshold=Decimal(alert).scaleb(-2))
    units = [Scored(f"U{i:02d}", "n", "g", Fraction(v, 100)) for i, v in enumerate(values)]
    ranking = rank_group("g", units, rules)
    ascending = sorted(u.score for u in units)
    for ranked in ranking.units:
        higher = sum(1 for u in units if u.score > ranked.score)
        assert ranked.rank == higher + 1
        in_line = (
            len(units) >= 2
            and bottom_n >= 1
            and ascending[0] != ascending[-1]  # a group all tied has no bottom
            and ranked.score <= ascending[min(bottom_n, len(units)) - 1]
        )
        assert ranked.bottom == in_line
        assert ranked.alert == (ranked.score < rules.alert_threshold)
        assert ranked.flagged == (in_line or ranked.score < rules.alert_threshold)
        if ranked.to_pass_above is not None:
            assert ranked.to_pass_above.target > ranked.score
            assert ranked.rank > 1
    keys = [(-u.score, u.unit_code) for u in ranking.units]
    assert keys == sorted(keys)


@PURE_SETTINGS
@given(
    st.lists(st.integers(0, 12000), min_size=1, max_size=8),
    st.integers(0, 3),
    st.integers(0, 12000),
)
def test_the_gaps_are_exactly_what_it_takes(values: list[int], bottom_n: int, alert: int) -> None:
    """Re-rank with the unit moved to the gap's target (and just short of it)."""
    rules = ScoringRules(bottom_n=bottom_n, alert_threshold=Decimal(alert).scaleb(-2))
    units = [Scored(f"U{i:02d}", "n", "g", Fraction(v, 100)) for i, v in enumerate(values)]
    tiny = Fraction(1, 10**6)

    def moved(code: str, score: Fraction) -> tuple[bool, int]:
        others = [u for u in units if u.unit_code != code]
        ranking = rank_group("g", [*others, Scored(code, "n", "g", score)], rules)
        found = ranking.find(code)
        assert found is not None
        return found.flagged, found.rank

    for ranked in rank_group("g", units, rules).units:
        leave = ranked.to_leave_bottom
        if ranked.flagged and leave is not None:
            enough = leave.target + (tiny if leave.strict else 0)
            short = leave.target - (0 if leave.strict else tiny)
            assert not moved(ranked.unit_code, enough)[0]
            assert moved(ranked.unit_code, short)[0]
            assert leave.points == max(leave.target - ranked.score, Fraction(0))
        elif ranked.flagged:  # no higher score can leave: every such score stays bottom
            assert moved(ranked.unit_code, Fraction(10**6))[0]
        above = ranked.to_pass_above
        if above is not None:
            # at the target the unit only ties the unit above; just past it, it is ahead
            others = [u.score for u in units if u.unit_code != ranked.unit_code]
            assert above.points == above.target - ranked.score
            assert above.target in others
            assert not any(ranked.score < s < above.target for s in others)
            assert moved(ranked.unit_code, above.target + tiny)[1] < ranked.rank


# ---------------------------------------------------------------- database properties


@pytest.fixture
def loaded(engine: Engine) -> Engine:
    """The migrated test database with the sample rulebook."""
    with session_scope(engine) as session:
        rulebook_store.import_rulebook(
            session=session, rulebook=SAMPLE, source=SAMPLE_RULEBOOK.name, imported_by="test"
        )
    return engine


@dataclass
class Example:
    """Where one hypothesis example keeps its data."""

    number: int
    year: int
    group: str
    units: list[UnitInfo]

    def unit_code(self, index: int) -> str:
        return self.units[index % len(self.units)].code

    def ledger_rows(self, generated: Sequence[Row]) -> list[list[str]]:
        header = ["日期", "单位", "指标", "分值", "编号"]
        body = [
            [
                (date(self.year, 1, 1) + timedelta(days=r.day)).isoformat(),
                self.unit_code(r.unit),
                r.indicator,
                format(Decimal(r.cents).scaleb(-2), "f"),
                f"X{self.number}-{i}",
            ]
            for i, r in enumerate(generated)
        ]
        return [header, *body]


Fresh = Callable[[], Example]


def example_factory(engine: Engine) -> Fresh:
    """Each call: a fresh year, group and five units in ``engine``."""
    counter = itertools.count()

    def fresh() -> Example:
        number = next(counter)
        group = f"组{number}"
        units = [UnitInfo(f"N{number}U{i}", f"单位{i}", group) for i in range(5)]
        with session_scope(engine) as session:
            upsert_units(session=session, units=units)
        return Example(number, 2001 + number, group, units)

    return fresh


@pytest.fixture
def fresh(loaded: Engine) -> Fresh:
    """Per-example isolation inside the test database."""
    return example_factory(loaded)


def oracle(example: Example, generated: Sequence[Row], period: Period) -> dict[str, Fraction]:
    """Plain Python over every entry: the rules as the issue words them."""
    rules = SAMPLE_RULES

    def quarter_score(code: str, quarter: Period) -> Decimal:
        sums: dict[str, int] = {}
        for r in generated:
            day = date(example.year, 1, 1) + timedelta(days=r.day)
            if example.unit_code(r.unit) == code and quarter.contains(day):
                sums[r.indicator] = sums.get(r.indicator, 0) + r.cents
        losses = deductions = bonuses = Decimal(0)
        for indicator_code, total in sums.items():
            item = INDICATORS[indicator_code]
            value = max(Decimal(total).scaleb(-2), Decimal(0))
            if item.cap is not None:
                value = min(value, item.cap)
            if item.type is IndicatorType.QUANTITATIVE:
                losses += min(value, item.points)
            elif item.type is IndicatorType.DEDUCTION:
                deductions += value
            else:
                bonuses += value
        if rules.bonus_cap is not None:
            bonuses = min(bonuses, rules.bonus_cap)
        return max(rules.base - losses - deductions + bonuses, Decimal(0))

    parts = [period] if period.kind.value in ("month", "quarter") else list(period.quarters())
    return {
        u.code: sum((Fraction(quarter_score(u.code, p)) for p in parts), Fraction(0)) / len(parts)
        for u in example.units
    }


def import_rows(engine: Engine, tmp: Path, example: Example, generated: Sequence[Row]) -> int:
    if not generated:  # an empty file is refused ("没有数据行"); nothing to import
        return 0
    path = write_csv(tmp / f"ledger{example.number}.csv", example.ledger_rows(generated))
    with session_scope(engine) as session:
        return entry.import_ledger(
            session=session, path=path, entered_by="test", today=FAR_FUTURE
        ).added


def scores(engine: Engine, example: Example, period: Period) -> dict[str, Fraction] | None:
    """The example's scores for a period; None when the period has no entry (no scores are
    published then)."""
    with Session(engine) as session:
        try:
            result = queries.period_scores(
                session=session, period=period, today=FAR_FUTURE, group=example.group
            )
        except queries.NoDataError:
            return None
    return {code: s.score for code, s in result.units.items()}


def periods_of(year: int) -> list[Period]:
    return [Period.month(year, 2), Period.quarter(year, 3), Period.half(year, 1)]


@DB_SETTINGS
@given(generated=rows)
def test_sql_aggregation_matches_plain_python(
    loaded: Engine, fresh: Fresh, tmp_path: Path, generated: list[Row]
) -> None:
    example = fresh()
    import_rows(loaded, tmp_path, example, generated)
    for period in [*periods_of(example.year), Period.whole_year(example.year)]:
        got = scores(loaded, example, period)
        if got is None:
            days = [date(example.year, 1, 1) + timedelta(days=r.day) for r in generated]
            assert not [day for day in days if period.contains(day)]
        else:
            assert got == oracle(example, generated, period)


@DB_SETTINGS
@given(generated=rows)
def test_reimport_changes_nothing(
    loaded: Engine, fresh: Fresh, tmp_path: Path, generated: list[Row]
) -> None:
    example = fresh()
    assert import_rows(loaded, tmp_path, example, generated) == len(generated)
    before = [scores(loaded, example, p) for p in periods_of(example.year)]
    assert import_rows(loaded, tmp_path, example, generated) == 0
    assert [scores(loaded, example, p) for p in periods_of(example.year)] == before


@DB_SETTINGS
@given(generated=rows, extra=row)
def test_a_correction_restores_the_score(
    loaded: Engine, fresh: Fresh, tmp_path: Path, generated: list[Row], extra: Row
) -> None:
    example = fresh()
    import_rows(loaded, tmp_path, example, generated)

    def computed(period: Period) -> dict[str, Fraction]:
        # A period whose only entries are an entry and its reversal has data (the correction
        # is on record) where it had none before: compare what the ledger computes.
        got = scores(loaded, example, period)
        return got if got is not None else oracle(example, generated, period)

    before = [computed(p) for p in periods_of(example.year)]
    with session_scope(loaded) as session:
        added = entry.add_entry(
            session=session,
            unit=example.unit_code(extra.unit),
            indicator=extra.indicator,
            points=Decimal(extra.cents).scaleb(-2),
            entry_date=date(example.year, 1, 1) + timedelta(days=extra.day),
            note="待冲正",
            entered_by="test",
            today=FAR_FUTURE,
        )
    with session_scope(loaded) as session:
        entry.reverse_entry(session=session, entry_id=added.id, note="冲正", entered_by="test")
    assert [computed(p) for p in periods_of(example.year)] == before


@pytest.mark.skipif(
    not os.environ.get("KPIBOT_TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="compares with PostgreSQL: set KPIBOT_TEST_DATABASE_URL to a PostgreSQL URL",
)
@DB_SETTINGS
@given(generated=rows)
def test_sqlite_and_postgresql_agree(
    loaded: Engine,
    fresh: Fresh,
    twin: Engine,
    twin_fresh: Fresh,
    tmp_path: Path,
    generated: list[Row],
) -> None:
    example = fresh()
    sqlite_example = twin_fresh()
    assert sqlite_example == example
    import_rows(loaded, tmp_path, example, generated)
    import_rows(twin, tmp_path, sqlite_example, generated)

    def ranking(engine: Engine, period: Period) -> queries.Ranking | None:
        with Session(engine) as session:
            try:
                return queries.rank_period(
                    session=session, period=period, today=FAR_FUTURE, group=example.group
                )
            except queries.NoDataError:
                return None  # both databases must agree on that too

    for period in [*periods_of(example.year), Period.whole_year(example.year)]:
        a, b = ranking(loaded, period), ranking(twin, period)
        assert (a is None, b is None) == (b is None, a is None)
        if a is None or b is None:
            continue
        assert a.as_json() == b.as_json()
        assert {c: s.score for c, s in a.scores.items()} == {
            c: s.score for c, s in b.scores.items()
        }


@pytest.fixture
def twin(tmp_path: Path) -> Iterator[Engine]:
    """A second, SQLite database beside the PostgreSQL one, with the same rulebook."""
    engine = make_engine(f"sqlite:///{tmp_path / 'twin.db'}")
    upgrade(engine)
    with session_scope(engine) as session:
        rulebook_store.import_rulebook(
            session=session, rulebook=SAMPLE, source=SAMPLE_RULEBOOK.name, imported_by="test"
        )
    yield engine
    engine.dispose()


@pytest.fixture
def twin_fresh(twin: Engine) -> Fresh:
    """Examples in the SQLite twin, in step with :func:`fresh`."""
    return example_factory(twin)
