"""The ranking's mix of evidence: fitted on labelled rulebooks, refitted without the one a
leave-one-out figure measures, and the hand-set mix reproduced when given its weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from knowledge.holdout import labelled_rulebooks, ranking_samples
from knowledge.matcher import Matcher, MatcherConfig
from knowledge.ranking import (
    A_PRIORI,
    BASE_FEATURES,
    FEATURES,
    FITTED_ON,
    RANK_WEIGHTS,
    fit_rank_weights,
    rank_scores,
    with_curves,
)
from tests.test_matcher_related import RULEBOOK

ROOT = Path(__file__).resolve().parents[1]


def test_the_shipped_weights_are_the_fit_on_the_rulebooks_named() -> None:
    books = [b for b in labelled_rulebooks(ROOT) if b.name in FITTED_ON]
    assert sorted(b.name for b in books) == sorted(FITTED_ON)
    samples = []
    for book in books:
        # as leave-one-out prepares it: the learned associations leave its own questions out
        config = MatcherConfig(association_excluded=(book.name,))
        samples += ranking_samples(Matcher(book.rulebook.indicators, config), book.questions)
    assert fit_rank_weights(samples) == pytest.approx(RANK_WEIGHTS, abs=1e-3)
    assert len(RANK_WEIGHTS) == len(FEATURES)
    assert sum(RANK_WEIGHTS) == pytest.approx(sum(A_PRIORI), abs=1e-3)


def test_a_feature_that_separates_right_from_wrong_gains_weight() -> None:
    rng = np.random.default_rng(7)
    samples = []
    for _ in range(300):
        rows = rng.random((6, len(BASE_FEATURES)))
        right = np.zeros(6, dtype=bool)
        right[int(np.argmax(rows[:, 2]))] = True  # content characters decide
        samples.append((with_curves(rows), right))
    weights = np.asarray(fit_rank_weights(samples))
    # what each feature adds, itself and its square root, going from 0.2 to 0.8 of its range,
    # against what the hand-set mix gives it
    kinds = len(BASE_FEATURES)
    gain = weights[:kinds] * 0.6 + weights[kinds:] * (np.sqrt(0.8) - np.sqrt(0.2))
    assert int(np.argmax(gain / np.asarray(A_PRIORI[:kinds]))) == 2


def test_the_square_roots_follow_each_feature() -> None:
    base = np.array([[0.25, 0.0, 1.0, 0.04, 0.0, 0.0, 0.5, 0.81]])
    rows = with_curves(base)
    assert len(FEATURES) == rows.shape[1] == 2 * len(BASE_FEATURES)
    assert rows[0, len(BASE_FEATURES) :] == pytest.approx([0.5, 0, 1, 0.2, 0, 0, 0.5**0.5, 0.9])
    assert rows[0, : len(BASE_FEATURES)] == pytest.approx(base[0])


def test_without_any_pair_the_hand_set_mix_stays() -> None:
    rows = np.ones((3, len(FEATURES)))
    assert fit_rank_weights([(rows, np.array([True, True, True]))]) == A_PRIORI
    assert fit_rank_weights([]) == A_PRIORI


def test_the_hand_set_mix_is_the_former_score() -> None:
    """Under the a-priori weights a candidate scores 150 x (half evidence, half BM25) plus
    0.35 x fuzzy similarity, the score the matcher used before the mix was fitted."""
    matcher = Matcher(RULEBOOK, MatcherConfig(rank_weights=A_PRIORI), background=())
    found = matcher.ranking_rows("打针的病人太多了")
    assert found is not None
    docs, rows = found
    kinds = rows[:, :6].sum(axis=1)
    expected = 150 * (0.5 * kinds + 0.5 * rows[:, 6]) + 35 * rows[:, 7]
    assert rank_scores(rows, A_PRIORI) == pytest.approx(expected)
    assert [d for d, _ in matcher.scored("打针的病人太多了").ranked] == docs
