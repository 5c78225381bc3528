"""The matcher's decision, calibrated per rulebook at import time.

Two logistic models over the same few features of a scored question:

* **in scope**: is the question about this rulebook at all? Positives are the rulebook's own
  FAQ questions, aliases and learned phrasings, each scored on an index that does *not* hold
  it (two folds), so they look like new questions; negatives are the shipped bank of
  out-of-scope office questions (``knowledge/data/out_of_scope_questions.txt``).
* **right**: given an in-scope question, is the best candidate the right indicator? Fitted on
  the same held-out positives.

Answer when P(in scope) x P(right) reaches ``answer_threshold``, clarify when P(in scope)
reaches ``clarify_threshold`` (``points_clarify_threshold`` for a question that asks what
something does to the score or tells a situation: to an appraisal assistant that is a
question about the rulebook, so it needs less evidence to be offered candidates), else say
the rulebook does not cover it. The three thresholds and the ridge strength are the only
global parameters; they are chosen by
leave-one-rulebook-out in ``benchmarks/bench_matcher.py``. Everything else is fitted on the
rulebook itself, so a new bureau's decision fits its own vocabulary.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import astuple, dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

OUT_OF_SCOPE_FILE = Path(__file__).with_name("data") / "out_of_scope_questions.txt"
SERVICE_TEMPLATES_FILE = Path(__file__).with_name("data") / "service_templates.txt"


@dataclass(frozen=True)
class Features:
    """What the decision looks at for one question (all on roughly unit scale)."""

    score: float  # best candidate's score / 100
    margin: float  # best minus runner-up, / 100
    coverage: float  # share of the question's characters the rulebook's vocabulary knows
    evidence: float  # log(1 + specific evidence for the best candidate), before normalising
    fuzzy: float  # best candidate's edit-distance similarity to a title or question / 100
    length: float  # log of the question's length in characters
    spread: float  # log of how many indicators hold at least half the best one's evidence
    domain: float  # mean log-odds of its characters: rulebook text against office talk
    points: float = 0.0  # asks whether or how much something scores (knowledge.cues)
    service: float = 0.0  # asks where, when or how to get something done

    def vector(self) -> list[float]:
        """The features with a constant for the intercept."""
        return [1.0, *astuple(self)]


# The rulebook's own phrasings (positives) are shorter and closer to the names than staff's
# questions, so features that measure style rather than meaning (length, edit-distance
# likeness to a name) would teach the in-scope model that long questions are out of scope.
# They stay in the "right" model, where both sides of the fit are the rulebook's phrasings.
IN_SCOPE_MASK = (1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0)
# A prior for rulebooks imported without calibration (fewer than five phrasings of their own).
_DEFAULT_IN_SCOPE = (-4.0, 5.0, 0.5, 2.0, 1.0, 0.0, 0.0, 0.0, 0.5, 0.0, 0.0)
_DEFAULT_RIGHT = (1.5, -1.0, 3.0, 0.5, 1.0, 1.0, -1.5, -1.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True)
class Calibration:
    """Coefficients of the two models and the two global thresholds."""

    in_scope: tuple[float, ...] = _DEFAULT_IN_SCOPE
    right: tuple[float, ...] = _DEFAULT_RIGHT
    answer_threshold: float = 0.8
    clarify_threshold: float = 0.6
    points_clarify_threshold: float = 0.3
    off_topic_threshold: float = 1.0  # 1.0: the question-style model refuses nothing

    def off_topic(self, probability: float, about_points: bool) -> bool:
        """Whether the question-style model refuses the question (:mod:`knowledge.style`):
        never one that asks about points, whose words already say it is about the appraisal."""
        return not about_points and probability > self.off_topic_threshold

    def clarify_at(self, about_points: bool) -> float:
        """The in-scope probability from which a question is offered candidates."""
        return self.points_clarify_threshold if about_points else self.clarify_threshold

    def probabilities(self, features: Features) -> tuple[float, float]:
        """P(in scope) and P(best candidate right | in scope)."""
        x = features.vector()
        masked = [v * m for v, m in zip(x, IN_SCOPE_MASK, strict=True)]
        return _sigmoid(_dot(self.in_scope, masked)), _sigmoid(_dot(self.right, x))


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(p * q for p, q in zip(a, b, strict=True))


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z > -500 else 0.0


def fit_logistic(
    x: NDArray[np.float64], y: NDArray[np.float64], *, ridge: float, balanced: bool
) -> tuple[float, ...]:
    """Ridge logistic regression by Newton's method.

    ``balanced`` weighs both classes to equal total weight: right when the class sizes are
    arbitrary (how many bank questions there are), wrong when they are the real rate (how
    often the best candidate is right).

    Hand-written because it is fifteen lines of NumPy: scikit-learn or statsmodels would add
    a large dependency for one convex fit over nine numbers.
    """
    positives = max(float(y.sum()), 1.0)
    negatives = max(float(len(y) - y.sum()), 1.0)
    if balanced:
        sample = np.where(y > 0, 0.5 / positives, 0.5 / negatives) * len(y)
    else:
        sample = np.ones(len(y))
    penalty = np.full(x.shape[1], ridge)
    penalty[0] = 0.0  # the intercept is not shrunk
    beta = np.zeros(x.shape[1])
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ beta, -30, 30)))
        gradient = x.T @ (sample * (p - y)) + penalty * beta
        hessian = (x * (sample * p * (1 - p))[:, None]).T @ x + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if float(np.abs(step).max()) < 1e-7:
            break
    return tuple(float(b) for b in beta)


def out_of_scope_bank() -> list[str]:
    """The shipped negatives: office questions no rulebook of indicators answers."""
    lines = OUT_OF_SCOPE_FILE.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def service_templates() -> list[str]:
    """Office-service questions with a ``{t}`` where a rulebook's own term goes."""
    lines = SERVICE_TEMPLATES_FILE.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if "{t}" in line and not line.startswith("#")]


def fit_calibration(
    positives: Sequence[tuple[Features, bool]],
    negatives: Sequence[Features],
    *,
    ridge: float,
    answer_threshold: float,
    clarify_threshold: float,
    points_clarify_threshold: float,
    off_topic_threshold: float = 1.0,
) -> Calibration:
    """Fit both models; ``positives`` carry whether the best candidate was right."""
    if len(positives) < 5 or len(negatives) < 5:
        return Calibration(
            answer_threshold=answer_threshold,
            clarify_threshold=clarify_threshold,
            points_clarify_threshold=points_clarify_threshold,
            off_topic_threshold=off_topic_threshold,
        )
    x_pos = np.array([f.vector() for f, _ in positives])
    x_neg = np.array([f.vector() for f in negatives])
    mask = np.array(IN_SCOPE_MASK)
    in_scope = fit_logistic(
        np.vstack([x_pos, x_neg]) * mask,
        np.concatenate([np.ones(len(x_pos)), np.zeros(len(x_neg))]),
        ridge=ridge,
        balanced=True,
    )
    labels = np.array([1.0 if ok else 0.0 for _, ok in positives])
    right = (
        fit_logistic(x_pos, labels, ridge=ridge, balanced=False)
        if 0 < labels.sum() < len(labels)
        else _DEFAULT_RIGHT
    )
    return Calibration(
        in_scope,
        right,
        answer_threshold,
        clarify_threshold,
        points_clarify_threshold,
        off_topic_threshold,
    )
