"""Does a question ask about the appraisal at all, whatever its words?

"国家信访局网上投诉的网址是多少" shares most of its words with a petitions rulebook, yet asks for a
web address; "上半年分给我们的几户到现在还剩两户没去" shares few with any indicator, yet asks how
the office is appraised. How a question asks (网址是多少, 有什么区别, 怎么补打 against 我们, 扣,
还剩, 会不会) tells the two apart better than how many rulebook words it holds, and it carries over
from one bureau to the next.

A logistic model over the question's character 1-3-grams, fitted on labelled rulebooks'
questions (in scope against out of scope), gives the probability that a question is off topic.
The decision refuses a question above a global threshold chosen by leave-one-rulebook-out
(:mod:`knowledge.holdout`), unless it asks about points. The model shipped in
``data/question_style.tsv`` is fitted on every labelled rulebook by
``scripts/build_question_style.py``; leave-one-out fits one without the rulebook it measures.

Written by hand: the fit is twenty lines of AdaGrad over sparse rows, and the run-time part is
a dictionary lookup per n-gram. scikit-learn (with SciPy) would be a large dependency for one
small fit, as for the ranking's weights (:mod:`knowledge.ranking`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from knowledge.text import segments, to_simplified

DATA = Path(__file__).with_name("data") / "question_style.tsv"
GRAM_SIZES = (1, 2, 3)
EPOCHS = 6
LEARNING_RATE = 0.2
L2 = 1e-5
KEEP = 1e-3  # weights smaller than this are not shipped
# Fewer characters than this say what a question is about, not how it asks: half a keyword
# ("护理补贴") or a bare name is no evidence either way (1,441 of the 1,442 labelled fragments
# are shorter; 99 of the 1,634 out-of-scope questions are).
MIN_CHARS = 8
_BIAS = "<bias>"


def grams(text: str) -> set[str]:
    """The character 1-3-grams of each run of the simplified text (never across punctuation)."""
    found: set[str] = set()
    for run in segments(to_simplified(text)):
        for n in GRAM_SIZES:
            found.update(run[i : i + n] for i in range(len(run) - n + 1))
    return found


@dataclass(frozen=True)
class StyleModel:
    """Weights per n-gram of being off topic, and the intercept."""

    bias: float
    weights: Mapping[str, float]

    def off_topic(self, text: str) -> float:
        """The probability that the question does not ask about the appraisal; 0.5 (no
        evidence) for a text too short to show how it asks."""
        if sum(len(run) for run in segments(to_simplified(text))) < MIN_CHARS:
            return 0.5
        z = self.bias + sum(self.weights.get(gram, 0.0) for gram in grams(text))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


NEUTRAL = StyleModel(0.0, {})  # 0.5 for every question: refuses nothing under a threshold >= 0.5


def fit_style(examples: Sequence[tuple[str, bool]], seed: int = 0) -> StyleModel:
    """Fit on (question, off topic?) pairs: both classes weigh the same in total, L2 towards
    zero, a fixed order of passes so a fit is the same every time."""
    return fit_style_grams([(grams(text), off) for text, off in examples], seed)


def fit_style_grams(examples: Sequence[tuple[set[str], bool]], seed: int = 0) -> StyleModel:
    """:func:`fit_style` on the questions' n-grams (for callers that fit many times)."""
    vocabulary: dict[str, int] = {}
    rows = [
        (np.array(sorted(vocabulary.setdefault(g, len(vocabulary)) for g in found)), off)
        for found, off in examples
    ]
    off_count = sum(1 for _, off in rows if off)
    if not off_count or off_count == len(rows):
        return NEUTRAL
    off_weight = (len(rows) - off_count) / off_count
    weights = np.zeros(len(vocabulary))
    squares = np.full(len(vocabulary), 1e-8)
    bias, bias_square = -2.0, 1e-8
    order = np.random.default_rng(seed)
    for _ in range(EPOCHS):
        for k in order.permutation(len(rows)):
            ids, off = rows[k]
            z = bias + float(weights[ids].sum())
            p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
            g = (p - off) * (off_weight if off else 1.0)
            step = g + L2 * weights[ids]
            squares[ids] += step * step
            weights[ids] -= LEARNING_RATE * step / np.sqrt(squares[ids])
            bias_square += g * g
            bias -= LEARNING_RATE * g / math.sqrt(bias_square)
    kept = {
        gram: round(float(weights[i]), 4)
        for gram, i in vocabulary.items()
        if abs(weights[i]) >= KEEP
    }
    return StyleModel(round(bias, 4), kept)


def write_style(model: StyleModel, path: Path = DATA) -> None:
    """The model as ``gram<TAB>weight`` lines, sorted, the intercept first."""
    lines = [f"{_BIAS}\t{model.bias}"]
    lines += [f"{gram}\t{weight}" for gram, weight in sorted(model.weights.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_style(path: Path = DATA) -> StyleModel:
    """A model written by :func:`write_style`."""
    weights: dict[str, float] = {}
    bias = 0.0
    for line in path.read_text(encoding="utf-8").splitlines():
        gram, _, weight = line.partition("\t")
        if gram == _BIAS:
            bias = float(weight)
        elif gram:
            weights[gram] = float(weight)
    return StyleModel(bias, weights)


@lru_cache(maxsize=1)
def shipped_style() -> StyleModel:
    """The model fitted on every labelled rulebook (``data/question_style.tsv``)."""
    return read_style(DATA)
