"""How the kinds of evidence are mixed into one ranking score, and how the mix is fitted.

Each candidate indicator of a question gets one row of evidence: the share of the question's
evidence it explains per kind (character bigrams ``c``, phonetic bigrams ``p``, content
characters ``u``, words ``w``, thesaurus synonyms ``s``, related words ``v``; see
:mod:`knowledge.index`), BM25 rescaled to the best evidence, and the fuzzy similarity of its
names and questions (0-1), then the square root of each of these (:func:`with_curves`). Its
score is ``100 * row @ weights``.

The square roots let the fitted mix bend. A linear mix says that the second half of a kind's
evidence is worth exactly as much as the first; with a square root next to each feature, the
fit chooses per kind whether evidence gains less and less (content characters, BM25) or more
and more (phonetic bigrams). Kinds that overlap (words are made of characters) can come out
with a negative part; only each candidate's sum is read. Chosen by leave-one-rulebook-out
against the plain mix: all 33 folds, each judging on the other 32 rulebooks, preferred it
(``docs/benchmarks.md``).

The a-priori mix (every lexical kind and BM25 at 0.75, fuzzy at 0.35, no square roots) was
set by hand. The weights in use are fitted instead: a pairwise logistic regression on
labelled rulebooks (the right indicator against the wrong ones ranked near it), pulled
towards the a-priori mix, then scaled to the same sum so scores keep their range (the
clarify window is in score points).
Leave-one-rulebook-out (:mod:`knowledge.holdout`) refits them without the rulebook it
measures. Written by hand: a dozen lines of Newton steps; no library here does pairwise
ranking, and scikit-learn would be a large dependency for one small fit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from numpy.typing import NDArray

EVIDENCE_KINDS = "cpuwsv"
BASE_FEATURES = (*EVIDENCE_KINDS, "bm25", "fuzzy")
FEATURES = (*BASE_FEATURES, *(f"sqrt_{name}" for name in BASE_FEATURES))
FUZZY = FEATURES.index("fuzzy")
A_PRIORI: tuple[float, ...] = (0.75,) * 7 + (0.35,) + (0.0,) * len(BASE_FEATURES)
# Fitted by `fit_rank_weights` (2026-12-03, session 20: with square roots; the associations of
# 33 sets at a share of 0.2, eight words per word) on
# the sixteen rulebooks listed in FITTED_ON; `tests/test_ranking.py` refits and compares.
RANK_WEIGHTS: tuple[float, ...] = (
    *(0.8029, 0.4839, 0.4448, 0.049, 0.0965, 0.5171, 0.9987, 0.5563),
    *(0.5029, -0.2489, 0.7712, -0.6314, 0.1558, 0.3754, 0.9797, -0.2541),  # square roots
)
FITTED_ON = (
    "tax_bureau_2026",
    "agriculture_bureau_2026",
    "civil_affairs_2026",
    "community_cadres_2026",
    "culture_tourism_2026",
    "ecology_bureau_2026",
    "education_bureau_2026",
    "emergency_bureau_2026",
    "health_commission_2026",
    "housing_construction_2026",
    "hrss_bureau_2026",
    "justice_bureau_2026",
    "market_bureau_2026",
    "transport_bureau_2026",
    "urban_management_2026",
    "water_affairs_2026",
)
PAIRS_PER_QUESTION = 10  # wrong candidates the right one is compared with, best ranked first
ROWS_PER_QUESTION = 15
PRIOR_STRENGTH = 1.0

RankingRows = tuple[NDArray[np.float64], NDArray[np.bool_]]  # a question's rows, which are right


def with_curves(base: NDArray[np.float64]) -> NDArray[np.float64]:
    """Candidate rows of :data:`BASE_FEATURES` (one per row) as the mix reads them: each
    feature, then its square root."""
    curved: NDArray[np.float64] = np.hstack([base, np.sqrt(np.clip(base, 0.0, None))])
    return curved


def fit_rank_weights(samples: Iterable[RankingRows]) -> tuple[float, ...]:
    """The weights under which right candidates outrank wrong ones, from each question's
    candidate rows (best ranked first) and which of them are right."""
    prior = np.asarray(A_PRIORI)
    pairs: list[NDArray[np.float64]] = []
    for rows, right in samples:
        if right.any() and not right.all():
            best_right = rows[right][0]
            pairs += [best_right - wrong for wrong in rows[~right][:PAIRS_PER_QUESTION]]
    if not pairs:
        return A_PRIORI
    diffs = np.asarray(pairs)
    weights = prior.copy()
    ridge = PRIOR_STRENGTH * np.eye(len(prior))
    for _ in range(50):  # Newton's method on the logistic loss, L2 towards the prior
        p = 1.0 / (1.0 + np.exp(-(diffs @ weights)))
        gradient = -diffs.T @ (1.0 - p) + PRIOR_STRENGTH * (weights - prior)
        hessian = (diffs * (p * (1.0 - p))[:, None]).T @ diffs + ridge
        step = np.linalg.solve(hessian, gradient)
        weights -= step
        if float(np.abs(step).max()) < 1e-9:
            break
    if weights.sum() <= 0:  # no usable direction: keep the hand-set mix
        return A_PRIORI
    weights *= prior.sum() / weights.sum()
    return tuple(round(float(w), 4) for w in weights)


def rank_scores(rows: NDArray[np.float64], weights: Sequence[float]) -> NDArray[np.float64]:
    """Each candidate's score, on the 0-100 scale of the a-priori mix."""
    scores: NDArray[np.float64] = 100.0 * (rows @ np.asarray(weights, dtype=np.float64))
    return scores
