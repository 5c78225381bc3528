"""How a question asks, learned from labelled questions: the fit, the shipped model, and the
decision's refusal of off-topic questions (never of questions about points)."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest

from knowledge.calibration import Calibration, out_of_scope_bank
from knowledge.holdout import (
    LabelledRulebook,
    held_out_style,
    labelled_rulebooks,
    style_examples,
    style_sources,
)
from knowledge.matcher import Matcher, Outcome
from knowledge.prepare import service_negatives
from knowledge.rulebook import Rulebook
from knowledge.style import (
    DATA,
    NEUTRAL,
    StyleModel,
    fit_style,
    gram_keys,
    read_style,
    shipped_style,
    write_style,
)
from knowledge.text import segments, to_simplified
from tests.test_matcher_evidence import SAMPLE

ROOT = Path(__file__).resolve().parents[1]

IN_SCOPE = [
    "我们这个月走访少了两户会扣分吗",
    "上报晚了一天算不算超时",
    "窗口排队太久被投诉了怎么算",
    "我们科室的台账没填完会影响考核吗",
    "整改没按时完成扣几分",
    "群众打电话投诉了我们要扣分吗",
]
OFF_TOPIC = [
    "食堂今天中午几点开饭",
    "公积金提取需要什么材料",
    "会议室怎么预约",
    "网址是多少",
]


def _toy() -> StyleModel:
    return fit_style([(q, False) for q in IN_SCOPE] * 3 + [(q, True) for q in OFF_TOPIC] * 3)


def _grams(text: str) -> set[str]:
    """The plain reference: the 1-3-grams of each run of the simplified text, as strings."""
    runs = segments(to_simplified(text))
    return {run[i : i + n] for run in runs for n in (1, 2, 3) for i in range(len(run) - n + 1)}


def _keys(found: set[str]) -> set[int]:
    return {sum(ord(c) << (21 * n) for n, c in enumerate(gram)) for gram in found}


def test_grams_are_the_one_to_three_character_runs_of_the_simplified_text() -> None:
    assert set(gram_keys("網址，是").tolist()) == _keys({"网", "址", "网址", "是"})
    for text in ("我们的网址是多少啊朋友们", "扣分，扣不扣分呢", "𠀀a𠀀a𠀀a"):
        keys = gram_keys(text)
        assert keys.tolist() == sorted(_keys(_grams(text)))


def test_a_model_finds_exactly_the_grams_it_holds() -> None:
    """The run-time lookup (integer keys in a sorted array) against the plain sum."""
    weights = {"网址": 2.0, "多少": 1.0, "扣": -3.0, "网": 0.5, "网址是": 0.25, "𠀀a": 9.0}
    model = StyleModel.of(-1.0, weights)
    for text in (
        "網址是多少，扣不扣分呢",
        "我们的网址是多少啊朋友们",
        "𠀀a𠀀a𠀀a𠀀a𠀀a",
        "没有一个相关的词语在这里",
    ):
        z = -1.0 + sum(weights.get(gram, 0.0) for gram in _grams(text))
        assert model.off_topic(text) == pytest.approx(1 / (1 + math.exp(-z)))


def test_a_fit_separates_how_questions_ask() -> None:
    model = _toy()
    assert model.off_topic("食堂的网址是多少") > 0.9
    assert model.off_topic("我们这个季度会扣分吗") < 0.1


def test_a_text_too_short_to_show_how_it_asks_is_no_evidence() -> None:
    model = _toy()
    assert model.off_topic("食堂网址") == 0.5  # half a keyword, whatever its words
    assert model.off_topic("食堂的网址是多少") > 0.9
    assert not Calibration(off_topic_threshold=0.5).off_topic(0.5, about_points=False)


def test_a_fit_is_the_same_every_time_and_needs_both_classes() -> None:
    assert _toy() == _toy()
    assert fit_style([(q, False) for q in IN_SCOPE]) is NEUTRAL
    assert NEUTRAL.off_topic("任何问题") == 0.5


def test_a_written_model_reads_back(tmp_path: Path) -> None:
    model = _toy()
    path = tmp_path / "style.npz"
    write_style(model, path)
    assert read_style(path) == model


def test_the_shipped_model_is_the_fit_on_the_labelled_rulebooks() -> None:
    """Adding or changing a labelled set means running scripts/build_question_style.py."""
    shipped = shipped_style()
    assert shipped == read_style(DATA)
    assert fit_style(style_examples(labelled_rulebooks(ROOT))) == shipped


def test_the_bank_is_off_topic_and_stays_when_a_rulebook_is_left_out() -> None:
    """The out-of-scope bank belongs to no rulebook: leaving out the only labelled rulebook
    leaves a model fitted on the bank against nothing in scope, not on no data at all."""
    bank = out_of_scope_bank()
    assert style_examples([]) == [(text, True) for text in bank]
    book = LabelledRulebook("a", Rulebook("", None, ()), [])
    rows = [(name, gram_keys(text), off) for name, text, off in style_sources([book])]
    assert {name for name, _, _ in rows} == {""}
    mixed = rows + [("a", gram_keys(q), False) for q in IN_SCOPE]
    kept = held_out_style("b", mixed)
    assert kept.off_topic("食堂今天中午几点开饭") > 0.5
    assert kept.off_topic(IN_SCOPE[0]) < 0.5
    assert held_out_style("a", mixed) is NEUTRAL  # the bank alone is one class only


def test_a_rulebooks_service_questions_are_off_topic_and_leave_with_it() -> None:
    book = LabelledRulebook("tax", Rulebook("", None, SAMPLE), [])
    rows = style_sources([book])
    service = service_negatives(SAMPLE)
    assert len(service) == 2 * len(SAMPLE)
    assert [(text, off) for name, text, off in rows if name == "tax"] == [
        (text, True) for text in service
    ]
    assert [text for name, text, _ in rows if name == ""] == out_of_scope_bank()


def test_a_rulebook_left_out_takes_its_questions_with_it() -> None:
    examples = [("a", gram_keys(q), False) for q in IN_SCOPE] + [
        ("b", gram_keys(q), True) for q in OFF_TOPIC
    ]
    assert held_out_style("b", examples) is NEUTRAL  # only in-scope questions remain
    assert held_out_style("c", examples).off_topic("食堂今天中午几点开饭") > 0.5


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(SAMPLE, background=(), style=_toy())


def test_the_decision_refuses_an_off_topic_question_it_would_otherwise_offer(
    matcher: Matcher,
) -> None:
    question = "办税服务厅的网址是多少"
    scored = matcher.scored(question)
    assert not scored.about_points
    assert matcher.style.off_topic(scored.normalized) > 0.9
    offered = Calibration(clarify_threshold=0.0, off_topic_threshold=1.0)
    refusing = replace(offered, off_topic_threshold=0.5)
    assert matcher.decide(question, scored, offered).status is not Outcome.NONE
    assert matcher.decide(question, scored, refusing).status is Outcome.NONE


def test_a_question_about_points_is_never_refused_for_how_it_asks(matcher: Matcher) -> None:
    question = "办税服务厅的网址是多少，答错了扣分吗"
    scored = matcher.scored(question)
    assert scored.about_points
    assert matcher.style.off_topic(scored.normalized) > 0.5
    refusing = Calibration(
        clarify_threshold=0.0, points_clarify_threshold=0.0, off_topic_threshold=0.5
    )
    assert matcher.decide(question, scored, refusing).status is not Outcome.NONE
