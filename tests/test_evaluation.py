"""The yardstick's counts: what counts as right, helped, confidently wrong and rejected."""

from __future__ import annotations

import pickle

import pytest

from knowledge.evaluation import Evaluation, LabelledQuestion, evaluate
from knowledge.matcher import Candidate, MatchResult, Outcome

A, B, C = (Candidate(code, f"指标{code}", 50.0) for code in ("A", "B", "C"))

# question -> (what the matcher says, which candidates)
REPLIES = {
    "答对了": (Outcome.ANSWER, (A,)),
    "答错了": (Outcome.ANSWER, (B,)),
    "第二个才对": (Outcome.CLARIFY, (B, A, C)),
    "列表里没有": (Outcome.CLARIFY, (B, C)),
    "没答": (Outcome.NONE, ()),
    "食堂几点开饭": (Outcome.NONE, ()),
    "公积金怎么取": (Outcome.ANSWER, (C,)),
}
QUESTIONS = [
    LabelledQuestion("答对了", frozenset({"A"}), "reword"),
    LabelledQuestion("答错了", frozenset({"A"}), "reword"),
    LabelledQuestion("第二个才对", frozenset({"A"}), "reword"),
    LabelledQuestion("列表里没有", frozenset({"A"}), "typo"),
    LabelledQuestion("没答", frozenset({"A"}), "typo"),
    LabelledQuestion("食堂几点开饭", frozenset(), "oos"),
    LabelledQuestion("公积金怎么取", frozenset(), "oos"),
]


def _evaluation() -> Evaluation:
    return evaluate(QUESTIONS, lambda text: MatchResult(text, text, *REPLIES[text]))


def test_helped_counts_right_answers_and_clarifications_listing_a_right_one() -> None:
    ev = _evaluation()
    assert (ev.in_scope, ev.out_of_scope) == (5, 2)
    assert (ev.top1, ev.answered_right, ev.clarify_contains) == (1, 1, 1)
    assert ev.helpful_rate == pytest.approx(2 / 5)
    assert ev.helped("reword") == pytest.approx(2 / 3)
    assert ev.helped("typo") == 0.0
    assert ev.helped("oos") == 0.0  # out-of-scope questions are never "helped"
    assert ev.helped("never asked") == 0.0


def test_wrong_answers_and_rejections() -> None:
    ev = _evaluation()
    assert ev.confident_wrong_rate == pytest.approx(2 / 7)  # one in scope, one out of scope
    assert ev.oos_rejection == pytest.approx(1 / 2)
    assert ev.by_kind["reword"] == [1, 3]


def test_an_evaluation_survives_pickling() -> None:
    """Leave-one-out workers send their evaluations back to the parent process."""
    ev = _evaluation()
    again = pickle.loads(pickle.dumps(ev))
    assert again.helped("reword") == ev.helped("reword")
    assert again.by_kind == ev.by_kind
