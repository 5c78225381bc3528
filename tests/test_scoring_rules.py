"""Every scoring rule, with hand-computed expected values (pure logic, no database)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from knowledge.files import InputError
from knowledge.rulebook import Indicator, IndicatorType
from knowledge.rulebook_files import read_rulebook
from scoring.compute import (
    IndicatorTotal,
    Limit,
    half_year_score,
    round_half_up,
    score_unit,
    score_units,
    year_score,
)
from scoring.periods import Period, PeriodKind, parse_period
from scoring.queries import ScoringError, counted_periods
from scoring.ranking import Gap, Scored, competition_ranks, rank_group, rank_groups
from scoring.rules import ScoringRules, rules_from_rulebook
from tests.conftest import SAMPLE_RULEBOOK

D = Decimal
Q = IndicatorType.QUANTITATIVE
B = IndicatorType.BONUS
K = IndicatorType.DEDUCTION

INDICATORS = {
    i.code: i
    for i in (
        Indicator("Q-10", "收入完成率", Q, D(10)),
        Indicator("Q-CAP", "预测准确率", Q, D(5), cap=D(3)),
        Indicator("K-01", "信访投诉", K, D("0.5"), cap=D(6)),
        Indicator("K-NOCAP", "违纪", K, D(1)),
        Indicator("B-01", "经验推广", B, D(1), cap=D(3)),
        Indicator("B-02", "信息采用", B, D("0.1"), cap=D("1.5")),
        Indicator("B-NOCAP", "表彰", B, D(2)),
    )
}


def t(code: str, points: str) -> IndicatorTotal:
    return IndicatorTotal(code, int(D(points) * 100))


def score(*totals: IndicatorTotal, rules: ScoringRules | None = None) -> D:
    return score_unit("U1", totals, INDICATORS, rules or ScoringRules()).score


# ---------------------------------------------------------------- month / quarter rules


def test_no_entries_scores_base() -> None:
    assert score() == D("100.00")
    assert score(rules=ScoringRules(base=D("120.5"))) == D("120.50")


def test_each_type_moves_the_score_its_own_way() -> None:
    result = score_unit(
        "U1", [t("Q-10", "2.5"), t("K-01", "1.5"), t("B-01", "2")], INDICATORS, ScoringRules()
    )
    assert (result.losses, result.deductions, result.bonuses) == (D("2.5"), D("1.5"), D(2))
    assert result.score == D("98.00")  # 100 − 2.5 − 1.5 + 2
    effects = {line.code: line.effect for line in result.lines}
    assert effects == {"Q-10": D("-2.5"), "K-01": D("-1.5"), "B-01": D(2)}


def test_item_cap_cuts_deductions_and_bonuses() -> None:
    result = score_unit("U1", [t("K-01", "7.5"), t("B-02", "2.3")], INDICATORS, ScoringRules())
    lines = {line.code: line for line in result.lines}
    assert (lines["K-01"].total, lines["K-01"].counted) == (D("7.5"), D(6))
    assert (lines["K-01"].limit, lines["K-01"].limit_value) == (Limit.CAP, D(6))
    assert (lines["B-02"].counted, lines["B-02"].limit) == (D("1.5"), Limit.CAP)
    assert result.score == D("95.50")  # 100 − 6 + 1.5


def test_items_without_cap_are_not_limited() -> None:
    assert score(t("K-NOCAP", "30")) == D("70.00")
    assert score(t("B-NOCAP", "8")) == D("108.00")


def test_quantitative_never_loses_more_than_its_full_points() -> None:
    result = score_unit("U1", [t("Q-10", "14")], INDICATORS, ScoringRules())
    (line,) = result.lines
    assert (line.counted, line.limit, line.limit_value) == (D(10), Limit.FULL_POINTS, D(10))
    assert result.score == D("90.00")
    assert score(t("Q-10", "10")) == D("90.00")  # exactly the full points: no limit needed


def test_quantitative_cap_below_full_points_wins() -> None:
    result = score_unit("U1", [t("Q-CAP", "4.5")], INDICATORS, ScoringRules())
    (line,) = result.lines
    assert (line.counted, line.limit) == (D(3), Limit.CAP)
    assert result.score == D("97.00")


def test_negative_sum_counts_zero_for_every_type() -> None:
    result = score_unit(
        "U1", [t("Q-10", "-1"), t("K-01", "-0.5"), t("B-01", "-2")], INDICATORS, ScoringRules()
    )
    assert all(line.counted == 0 and line.limit is Limit.NEGATIVE for line in result.lines)
    assert result.score == D("100.00")


def test_corrections_net_out_within_an_indicator() -> None:
    assert score(t("K-01", "2"), t("B-01", "1")) == D("99.00")
    # the same indicator's entries are summed before anything else: 2 − 0.5 = 1.5
    assert score(IndicatorTotal("K-01", 150, entries=2)) == D("98.50")


def test_bonus_cap_applies_to_the_sum_of_bonuses() -> None:
    rules = ScoringRules(bonus_cap=D(4))
    result = score_unit(
        "U1", [t("B-01", "3"), t("B-02", "1.5"), t("B-NOCAP", "2")], INDICATORS, rules
    )
    assert result.bonuses_before_cap == D("6.5")
    assert result.bonuses == D(4)
    assert result.bonus_capped
    assert result.score == D("104.00")
    assert score(t("B-01", "3"), rules=ScoringRules(bonus_cap=None)) == D("103.00")
    assert score(t("B-01", "3"), rules=ScoringRules(bonus_cap=D(0))) == D("100.00")


def test_bonus_cap_does_not_touch_losses() -> None:
    rules = ScoringRules(bonus_cap=D(1))
    assert score(t("B-01", "3"), t("K-NOCAP", "5"), rules=rules) == D("96.00")  # 100 − 5 + 1


def test_score_never_goes_below_zero() -> None:
    result = score_unit("U1", [t("K-NOCAP", "150"), t("B-01", "1")], INDICATORS, ScoringRules())
    assert result.unfloored == D("-49.00")
    assert result.score == D("0.00")
    assert result.floored


def test_unknown_indicator_in_totals_is_an_error() -> None:
    with pytest.raises(ValueError, match="ZZ"):
        score(IndicatorTotal("ZZ", 100))


def test_score_units_gives_base_to_units_without_rows() -> None:
    scores = score_units([("A", t("K-01", "1"))], ["A", "B"], INDICATORS, ScoringRules())
    assert {code: s.score for code, s in scores.items()} == {"A": D("99.00"), "B": D("100.00")}


# ---------------------------------------------------------------- half-year and year


def test_half_year_is_the_mean_of_its_quarters() -> None:
    assert half_year_score([D("90.00"), D("95.50")]) == Fraction(18550, 200)
    assert round_half_up(half_year_score([D("90.01"), D("90.00")])) == D("90.01")  # 90.005


def test_year_with_review_weights_it() -> None:
    rules = ScoringRules(review_weight=D("0.2"))
    quarters = [D(90), D(92), D(94), D(96)]
    assert year_score(quarters, D(80), rules) == Fraction(4, 5) * 93 + Fraction(1, 5) * 80  # 90.4
    assert year_score(quarters, D(80), rules) == Fraction(452, 5)


def test_year_without_review_is_the_mean_of_the_quarters() -> None:
    assert year_score([D(90), D(91), D(95)], None, ScoringRules()) == Fraction(92)


def test_year_scores_are_exact_so_ties_are_real() -> None:
    rules = ScoringRules(review_weight=D("0.2"))
    # 0.8 × S/3 + 0.2 × R is equal for (S, R) = (270.03, 80) and (270, 80.04)
    a = year_score([D("90.01"), D("90.01"), D("90.01")], D(80), rules)
    b = year_score([D(90), D(90), D(90)], D("80.04"), rules)
    assert a == b
    ranking = rank_group("g", [Scored("A", "a", "g", a), Scored("B", "b", "g", b)], rules)
    assert [u.rank for u in ranking.units] == [1, 1]


def test_thirds_round_half_up_only_for_display() -> None:
    third = year_score([D(90), D(90), D(91)], None, ScoringRules())
    assert third == Fraction(271, 3)
    assert round_half_up(third) == D("90.33")
    assert round_half_up(Fraction(27101, 300)) == D("90.34")  # 90.33666…
    assert round_half_up(D("2.675")) == D("2.68")
    assert round_half_up(D("0.005")) == D("0.01")
    assert round_half_up(D("-0.005")) == D("-0.01")


def test_periods_not_started_do_not_count() -> None:
    today = date(2026, 5, 20)
    year = Period.whole_year(2026)
    assert counted_periods(year, today) == (Period.quarter(2026, 1), Period.quarter(2026, 2))
    assert counted_periods(Period.half(2026, 1), today) == year.quarters()[:2]
    assert counted_periods(Period.quarter(2026, 2), today) == (Period.quarter(2026, 2),)
    with pytest.raises(ScoringError, match="尚未开始"):
        counted_periods(Period.quarter(2026, 3), today)
    with pytest.raises(ScoringError, match="尚未开始"):
        counted_periods(Period.half(2026, 2), today)
    assert counted_periods(Period.half(2026, 2), date(2026, 7, 1)) == (Period.quarter(2026, 3),)


# ---------------------------------------------------------------- ranking


def scored(*pairs: tuple[str, str], group: str = "股室") -> list[Scored]:
    return [Scored(code, f"单位{code}", group, Fraction(D(value))) for code, value in pairs]


def test_equal_scores_share_a_rank_and_the_next_skips() -> None:
    assert competition_ranks([Fraction(x) for x in (99, 98, 98, 97, 97, 97, 90)]) == [
        1,
        2,
        2,
        4,
        4,
        4,
        7,
    ]
    ranking = rank_group(
        "股室", scored(("C", "98"), ("B", "98"), ("A", "99"), ("D", "97")), ScoringRules()
    )
    assert [(u.unit_code, u.rank) for u in ranking.units] == [
        ("A", 1),
        ("B", 2),
        ("C", 2),
        ("D", 4),
    ]


def test_ranking_uses_exact_scores_not_rounded_ones() -> None:
    units = [
        Scored("A", "a", "g", Fraction(9000501, 100000)),  # 90.00501 → shows 90.01
        Scored("B", "b", "g", Fraction(9001, 100)),  # 90.01
    ]
    ranking = rank_group("g", units, ScoringRules())
    assert [(u.unit_code, u.rank) for u in ranking.units] == [("B", 1), ("A", 2)]


def test_bottom_is_the_lowest_with_ties_at_the_line() -> None:
    ranking = rank_group(
        "g", scored(("A", "95"), ("B", "90"), ("C", "90"), ("D", "92")), ScoringRules()
    )
    assert {u.unit_code for u in ranking.units if u.bottom} == {"B", "C"}
    assert ranking.bottom_line == 90


def test_bottom_n_takes_the_nth_lowest_score_as_the_line() -> None:
    rules = ScoringRules(bottom_n=2)
    ranking = rank_group("g", scored(("A", "95"), ("B", "90"), ("C", "91"), ("D", "91")), rules)
    assert {u.unit_code for u in ranking.units if u.bottom} == {"B", "C", "D"}
    none = rank_group("g", scored(("A", "95"), ("B", "90")), ScoringRules(bottom_n=0))
    assert not any(u.bottom for u in none.units)


def test_units_below_the_alert_line_are_alert_not_bottom() -> None:
    ranking = rank_group("g", scored(("A", "84.99"), ("B", "80"), ("C", "85")), ScoringRules())
    flags = {u.unit_code: (u.bottom, u.alert, u.flagged, u.labels) for u in ranking.units}
    assert flags == {
        "C": (False, False, False, ()),  # exactly at the threshold is not below it
        "A": (False, True, True, ("预警",)),
        "B": (True, True, True, ("末位", "预警")),
    }


def test_a_group_whose_units_all_tie_has_no_bottom() -> None:
    tied = rank_group("g", scored(("A", "100"), ("B", "100"), ("C", "100")), ScoringRules())
    assert [(u.rank, u.bottom, u.flagged) for u in tied.units] == [(1, False, False)] * 3
    assert tied.bottom_line is None
    low = rank_group("g", scored(("A", "80"), ("B", "80")), ScoringRules(bottom_n=1))
    assert [(u.bottom, u.alert, u.labels) for u in low.units] == [(False, True, ("预警",))] * 2
    one_apart = rank_group("g", scored(("A", "100"), ("B", "100"), ("C", "99.99")), ScoringRules())
    assert [u.unit_code for u in one_apart.units if u.bottom] == ["C"]


def test_group_of_one_is_never_bottom_by_rank() -> None:
    alone = rank_group("g", scored(("A", "86")), ScoringRules())
    assert (alone.units[0].rank, alone.units[0].bottom, alone.bottom_line) == (1, False, None)
    low = rank_group("g", scored(("A", "70")), ScoringRules())
    assert (low.units[0].bottom_by_rank, low.units[0].below_alert) == (False, True)
    assert low.units[0].to_leave_bottom == Gap(Fraction(85), strict=False, points=Fraction(15))


def test_gap_to_pass_the_unit_above() -> None:
    ranking = rank_group(
        "g", scored(("A", "99"), ("B", "97.5"), ("C", "97.5"), ("D", "96")), ScoringRules()
    )
    gaps = {u.unit_code: u.to_pass_above for u in ranking.units}
    assert gaps["A"] is None
    assert gaps["B"] == Gap(Fraction(99), strict=True, points=Fraction(3, 2))
    assert gaps["C"] == gaps["B"]  # a tied unit is not "above"
    assert gaps["D"] == Gap(Fraction(975, 10), strict=True, points=Fraction(3, 2))


def test_gap_to_leave_the_bottom() -> None:
    ranking = rank_group("g", scored(("A", "95"), ("B", "90"), ("C", "88")), ScoringRules())
    c = ranking.find("C")
    assert c is not None
    assert c.bottom
    # C leaves the bottom once it scores above B's 90 (then B is the lowest)
    assert c.to_leave_bottom == Gap(Fraction(90), strict=True, points=Fraction(2))
    low = rank_group("g", scored(("A", "95"), ("B", "80"), ("C", "70")), ScoringRules())
    lowest = low.find("C")
    assert lowest is not None
    # above B's 80 is not enough: the alert threshold 85 must be reached too
    assert lowest.to_leave_bottom == Gap(Fraction(85), strict=False, points=Fraction(15))
    tied = rank_group("g", scored(("A", "95"), ("B", "90"), ("C", "90")), ScoringRules())
    b = tied.find("B")
    assert b is not None
    assert b.to_leave_bottom == Gap(Fraction(90), strict=True, points=Fraction(0))


def test_only_a_tie_leaves_the_bottom_when_the_group_is_all_bottom_places() -> None:
    ranking = rank_group("g", scored(("A", "95"), ("B", "90")), ScoringRules(bottom_n=2))
    assert all(u.bottom for u in ranking.units)
    gaps = {u.unit_code: u.to_leave_bottom for u in ranking.units}
    assert gaps == {"A": None, "B": Gap(Fraction(95), strict=False, points=Fraction(5))}


def test_groups_are_ranked_separately() -> None:
    units = scored(("GS01", "90"), ("GS02", "95")) + scored(("PC01", "80"), group="派出机构")
    groups = rank_groups(units, ScoringRules())
    assert [(g.group, [u.unit_code for u in g.units]) for g in groups] == [
        ("股室", ["GS02", "GS01"]),
        ("派出机构", ["PC01"]),
    ]
    assert groups[1].units[0].rank == 1


# ---------------------------------------------------------------- the rules block


def test_rules_default_when_the_block_is_missing() -> None:
    assert rules_from_rulebook(None) == ScoringRules(
        base=D(100), bonus_cap=None, alert_threshold=D(85), review_weight=D("0.2"), bottom_n=1
    )


def test_sample_rulebook_overrides_the_bonus_cap() -> None:
    rulebook = read_rulebook(SAMPLE_RULEBOOK)
    assert rules_from_rulebook(rulebook.scoring) == ScoringRules(bonus_cap=D(10))


def test_partial_block_keeps_other_defaults() -> None:
    rules = rules_from_rulebook({"review_weight": D("0.3"), "bottom_n": 2, "bonus_cap": "null"})
    assert rules == ScoringRules(review_weight=D("0.3"), bottom_n=2)


def test_bad_rules_are_all_reported() -> None:
    with pytest.raises(InputError) as caught:
        rules_from_rulebook(
            {"base": -1, "review_weight": D("1.5"), "bottom_n": D("1.5"), "bonus_cup": 3},
            file="x.yaml",
        )
    fields = sorted(p.field or "" for p in caught.value.problems)
    assert fields == [
        "scoring.base",
        "scoring.bonus_cup",
        "scoring.bottom_n",
        "scoring.review_weight",
    ]


# ---------------------------------------------------------------- periods


TODAY = date(2026, 5, 20)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03", Period.month(2026, 3)),
        ("2026-Q1", Period.quarter(2026, 1)),
        ("2026-H1", Period.half(2026, 1)),
        ("2026", Period.whole_year(2026)),
        ("2026Q1", Period.quarter(2026, 1)),
        ("２０２６ｑ３", Period.quarter(2026, 3)),
        ("2026年第一季度", Period.quarter(2026, 1)),
        ("2026年一季度", Period.quarter(2026, 1)),
        ("2026年第4季度", Period.quarter(2026, 4)),
        ("2026年3月", Period.month(2026, 3)),
        ("2026年十二月", Period.month(2026, 12)),
        ("2026/3", Period.month(2026, 3)),
        ("202611", Period.month(2026, 11)),
        ("2026年上半年", Period.half(2026, 1)),
        ("2026年下半年", Period.half(2026, 2)),
        ("2026年度", Period.whole_year(2026)),
        ("2026年", Period.whole_year(2026)),
        ("本月", Period.month(2026, 5)),
        ("上月", Period.month(2026, 4)),
        ("本季度", Period.quarter(2026, 2)),
        ("上季度", Period.quarter(2026, 1)),
        ("今年", Period.whole_year(2026)),
        ("去年", Period.whole_year(2025)),
        ("上半年", Period.half(2026, 1)),
        ("三月", Period.month(2026, 3)),
        ("去年第四季度", Period.quarter(2025, 4)),
    ],
)
def test_period_spellings(text: str, expected: Period) -> None:
    assert parse_period(text, today=TODAY) == expected


def test_relative_periods_cross_the_year() -> None:
    january = date(2026, 1, 15)
    assert parse_period("上季度", today=january) == Period.quarter(2025, 4)
    assert parse_period("上个月", today=january) == Period.month(2025, 12)


@pytest.mark.parametrize("text", ["", "2026-13", "2026-Q5", "下周", "2026年第五季度", "1999"])
def test_bad_periods_are_refused_in_chinese(text: str) -> None:
    with pytest.raises(ValueError, match="期间"):
        parse_period(text, today=TODAY)


def test_period_bounds_codes_and_labels() -> None:
    q4 = Period.quarter(2026, 4)
    assert (q4.start, q4.end, q4.code, q4.label) == (
        date(2026, 10, 1),
        date(2027, 1, 1),
        "2026-Q4",
        "2026年第四季度",
    )
    assert Period.half(2026, 2).quarters() == (Period.quarter(2026, 3), Period.quarter(2026, 4))
    assert Period.month(2026, 2).end == date(2026, 3, 1)
    assert Period.whole_year(2026).kind is PeriodKind.YEAR
    assert str(Period.month(2026, 3)) == "2026-03"
