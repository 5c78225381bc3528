"""The question-kind cues of the decision, and the fast rates the parameter search uses."""

from __future__ import annotations

import itertools
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from knowledge.cues import (
    asks_points,
    asks_rule,
    asks_service,
    names_service,
    only_cue_words,
    tells_situation,
)
from knowledge.holdout import (
    RIDGES,
    PreparedCase,
    Rates,
    labelled_rulebooks,
    prepare_case,
)
from knowledge.matcher import MatcherConfig, MatchResult, Outcome
from knowledge.prepare import MAX_SERVICE_NEGATIVES, DecisionParams, service_negatives
from knowledge.ranking import RANK_WEIGHTS
from knowledge.rulebook import Indicator, IndicatorType

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("text", "points", "service"),
    [
        ("这个季度上门少了两家，要扣多少分", 1.0, 0.0),
        ("楼道里聊家常算不算一次走访", 1.0, 0.0),
        ("被市里通报了，影响我们考核吗", 1.0, 0.0),
        ("网格通APP老是闪退怎么办", 0.0, 1.0),
        ("居住证怎么办理", 0.0, 1.0),
        ("公积金在哪里查", 0.0, 1.0),
        ("考核表在哪里下载", 0.0, 1.0),  # names the appraisal, asks for a form
        ("绩效工资什么时候发", 0.0, 1.0),
        ("走访那天忘拍照了，第二天补了一张传上去，会怎样", 1.0, 0.0),
        # a situation told with a service word that asks about points is a points question
        ("退税的钱拖了快两周才到账，企业找上门来了，这个怎么算", 1.0, 0.0),
        ("个体户营业执照要带什么材料", 0.0, 1.0),
        ("入户走访率", 0.0, 0.0),
        ("个体户营业执照怎么办", 0.0, 1.0),
        ("120急救车收费标准是多少", 0.0, 1.0),
        ("失业登记在手机上怎么办", 0.0, 1.0),
        ("医疗纠纷可以找哪个部门调解", 0.0, 1.0),
        ("企业怎么给新员工办理参保登记", 0.0, 1.0),
        ("放射诊疗许可证怎么校验", 0.0, 1.0),
        ("挖路埋管线要办什么手续", 0.0, 1.0),
        ("党费每月交多少", 0.0, 1.0),
        ("政务服务中心周六上班吗", 0.0, 1.0),
        ("路上发现大坑可以打哪个电话", 0.0, 1.0),
        ("继承房产过户需要公证吗", 0.0, 1.0),
        # the same kind of words asking what it costs in points is not a service question
        ("补缴社保晚了交多少滞纳金，会扣分吗", 1.0, 0.0),
        ("少报一次要扣多少分", 1.0, 0.0),
        # an in-scope situation that asks how long the rule allows is not a service question
        ("井盖破损要多久修复", 0.0, 0.0),
        ("拖了三天才处理完，怎么办", 0.0, 0.0),
        # a statement that names a service asks for nothing: it tells a situation
        ("开发商两个月没把钱打给总包，工人卡上一直没到账", 0.0, 0.0),
        ("网格通APP老是闪退", 0.0, 0.0),
    ],
)
def test_cues(text: str, points: float, service: float) -> None:
    assert (asks_points(text), asks_service(text)) == (points, service)


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("新发现一个爸妈都出去打工的小孩，多少天内要录进去", True),
        ("残疾证到期没去换，钱要不要先断掉", True),
        ("有的同事打个电话让老板自己填表就算去过了，这样行吗", True),
        ("接了单没先给人家回电话，直接在系统里点了完成，有啥后果", True),
        ("食堂这周的菜单在哪看", False),
        ("低保审核审批时限", False),
    ],
)
def test_asks_what_the_rule_requires(text: str, asks: bool) -> None:
    assert asks_rule(text) is asks


@pytest.mark.parametrize(
    ("text", "told"),
    [
        ("上坟烧纸把后山点着了，烧了半亩多林子", True),
        ("整改报告交上去了还没有人来验收", True),  # 没有 inside a statement
        ("奶奶带着的小孙子，爹妈都没了，钱这个月迟迟没到账", True),  # names a service
        ("国庆值班表排好了没有", False),  # a question without its mark
        ("上次说的那个培训你们去过没有。", False),
        ("这个月走访的台账填完了吗", False),
    ],
)
def test_tells_a_situation_rather_than_asking(text: str, told: bool) -> None:
    assert tells_situation(text) is told


@pytest.fixture(scope="module")
def case() -> PreparedCase:
    book = next(b for b in labelled_rulebooks(ROOT) if b.name == "community_cadres_2026")
    return prepare_case(book)


def test_vectorised_rates_equal_the_full_evaluation(case: PreparedCase) -> None:
    grid = itertools.product(RIDGES, (0.3, 0.6, 0.8, 0.9), (0.2, 0.5, 0.6, 0.9))
    for ridge, answer, clarify in grid:
        params = DecisionParams(ridge, answer, clarify)
        assert case.rates(params) == Rates.of(case.evaluate(params)), params


def test_preparing_again_on_the_built_indexes_equals_a_fresh_build(case: PreparedCase) -> None:
    """The leave-one-out folds rescore a rulebook under refitted ranking weights on the
    indexes it was built with; that must be what a build under those weights gives."""
    weights = tuple(w * (1.5 if n % 2 else 0.5) for n, w in enumerate(RANK_WEIGHTS))
    config = MatcherConfig(rank_weights=weights)
    again = prepare_case(case.book, config=config, built=case)
    fresh = prepare_case(case.book, config=config)
    assert again.matcher.index is case.matcher.index
    assert again.data == fresh.data
    assert {q: (s.ranked, s.features) for q, s in again.scored.items()} == {
        q: (s.ranked, s.features) for q, s in fresh.scored.items()
    }
    # and the weights do change the scoring, so the comparison is not of two equal builds
    assert again.data != case.data


def test_a_service_question_is_less_in_scope_than_the_same_words_asking_about_points(
    case: PreparedCase,
) -> None:
    calibration = case.calibration(DecisionParams())
    features = case.matcher.scored("网格巡查的手机APP").features
    assert features is not None
    as_service = replace(features, points=0.0, service=1.0)
    as_points = replace(features, points=1.0, service=0.0)
    assert calibration.probabilities(as_service)[0] < calibration.probabilities(as_points)[0]


@pytest.mark.parametrize(
    ("core", "generic"),
    [("绩效", True), ("扣分", True), ("考核怎么算", True), ("入户走访率", False), ("", False)],
)
def test_only_cue_words(core: str, generic: bool) -> None:
    assert only_cue_words(core) is generic


def _indicator(n: int, name: str, aliases: tuple[str, ...] = ()) -> Indicator:
    return Indicator(f"DL-{n:04d}", name, IndicatorType.QUANTITATIVE, Decimal(1), aliases=aliases)


def test_service_negatives_wrap_each_indicators_shortest_term() -> None:
    found = service_negatives(
        [_indicator(1, "网格巡查到位率", ("网格巡查",)), _indicator(2, "入户走访率")]
    )
    assert len(found) == 4
    assert all("网格巡查" in q and "到位率" not in q for q in found[:2])
    assert all("入户走访率" in q for q in found[2:])
    assert len(set(found)) == 4


def test_service_negatives_are_capped_for_a_large_rulebook() -> None:
    found = service_negatives([_indicator(n, f"指标{n}") for n in range(5000)])
    assert MAX_SERVICE_NEGATIVES - 2 <= len(found) <= MAX_SERVICE_NEGATIVES


def test_a_question_about_points_is_clarified_rather_than_refused(case: PreparedCase) -> None:
    """Under thresholds no other question reaches, a question that asks what something does
    to the score, or a situation told without a question, still gets candidates ("您是想
    问…"); the same words asking something else are refused."""
    fitted = case.calibration(DecisionParams())
    strict = replace(
        fitted, answer_threshold=1.1, clarify_threshold=1.1, points_clarify_threshold=0.0
    )
    situation = "楼道里跟大爷聊了半天家常"

    def decided(text: str) -> MatchResult:
        return case.matcher.decide(text, case.matcher.scored(text), strict)

    assert decided(situation + "，这个咋弄").status is Outcome.NONE
    # each asks how the situation counts: about points, told bare, or whether it is allowed
    asking = (situation + "，会扣分吗", situation, situation + "，这样行吗")
    for about_points in asking:
        clarified = decided(about_points)
        assert clarified.status is Outcome.CLARIFY, about_points
        assert len(clarified.matches) >= 2


def test_a_service_question_is_not_covered_however_many_rulebook_words_it_holds(
    case: PreparedCase,
) -> None:
    """Asked how to get something done, the rulebook has no answer, even when the question is
    made of an indicator's own name; asked what it does to the score, it is about the rulebook."""
    lenient = replace(
        case.calibration(DecisionParams()), answer_threshold=0.0, clarify_threshold=0.0
    )
    name = case.matcher.indicators[0].name
    service = f"{name}的系统在哪里下载"
    points = f"{name}没做到会扣分吗"
    assert (
        case.matcher.decide(service, case.matcher.scored(service), lenient).status is Outcome.NONE
    )
    assert (
        case.matcher.decide(points, case.matcher.scored(points), lenient).status is Outcome.ANSWER
    )


def test_a_statement_naming_a_service_is_offered_candidates_never_answered(
    case: PreparedCase,
) -> None:
    """Told without a question, a service word may be part of a situation an indicator counts
    (工人卡上一直没到账) or a complaint no rulebook covers (APP老是闪退): it is neither turned
    away as a service question nor answered with confidence, however lenient the thresholds."""
    lenient = replace(
        case.calibration(DecisionParams()), answer_threshold=0.0, clarify_threshold=0.0
    )
    name = case.matcher.indicators[0].name
    told = f"{name}的APP老是闪退"
    asked = f"{name}的APP老是闪退怎么办"
    scored = case.matcher.scored(told)
    assert names_service(told)
    assert not asks_service(told)
    assert scored.generic
    assert scored.about_points
    assert case.matcher.decide(told, scored, lenient).status is Outcome.CLARIFY
    assert case.matcher.decide(asked, case.matcher.scored(asked), lenient).status is Outcome.NONE
