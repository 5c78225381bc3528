"""What a month of learned phrasings does to the next month's new questions.

Until session 22 learned phrasings were indexed as their indicator's text, and their everyday
words pulled new questions about other indicators: on these two rulebooks paraphrases ranked
first on the next month fell by 15 and 14 points. Each rulebook is held out of the word
associations, as in the leave-one-rulebook-out benchmark (``benchmarks/bench_learning.py``).
"""

from __future__ import annotations

import pytest

from knowledge.evaluation import Evaluation, evaluate, office_month
from knowledge.holdout import PARAPHRASE, load_labelled
from knowledge.matcher import MatcherConfig, Outcome
from knowledge.prepare import prepare_matcher
from tests.conftest import DATA


def _paraphrase(evaluation: Evaluation) -> float:
    right, total = evaluation.by_kind[PARAPHRASE]
    return right / total


@pytest.mark.parametrize("name", ["agriculture_bureau_2026", "ecology_bureau_2026"])
def test_a_month_of_learning_does_not_cost_the_next_month(name: str) -> None:
    book = load_labelled(
        DATA / "rulebooks" / f"{name}.yaml", DATA / "rulebooks" / f"{name}.questions.yaml"
    )
    indicators = book.rulebook.indicators
    config = MatcherConfig(association_excluded=(name,))
    month1, month2 = book.questions[0::2], book.questions[1::2]
    plain = prepare_matcher(indicators, config)
    learned = office_month(plain.match_question, month1)
    assert sum(len(q) for q in learned.values()) >= 30  # a real month's worth of lessons
    taught = prepare_matcher(indicators, config, learned=learned)

    before = evaluate(month2, plain.match_question)
    after = evaluate(month2, taught.match_question)
    assert _paraphrase(after) >= _paraphrase(before)
    assert after.top1_accuracy >= before.top1_accuracy
    assert after.answered_right > before.answered_right
    # every attached question is answered directly with its indicator when asked again
    for code, questions in learned.items():
        for question in questions:
            result = taught.match_question(question)
            assert result.status is Outcome.ANSWER, question
            assert [c.code for c in result.matches] == [code], question
