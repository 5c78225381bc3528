"""Does a question ask about the appraisal at all, whatever its words?

"国家信访局网上投诉的网址是多少" shares most of its words with a petitions rulebook, yet asks for a
web address; "上半年分给我们的几户到现在还剩两户没去" shares few with any indicator, yet asks how
the office is appraised. How a question asks (网址是多少, 有什么区别, 怎么补打 against 我们, 扣,
还剩, 会不会) tells the two apart better than how many rulebook words it holds, and it carries over
from one bureau to the next.

A logistic model over the question's character 1-3-grams, fitted on labelled rulebooks'
questions (in scope against out of scope), on each of those rulebooks' service questions
around its own terms and on the shipped bank of out-of-scope office questions (the in-scope
model's negatives, :mod:`knowledge.prepare`), gives the probability that a question is off
topic.
The decision refuses a question above a global threshold chosen by leave-one-rulebook-out
(:mod:`knowledge.holdout`), unless it asks about points. The model shipped in
``data/question_style.npz`` is fitted on all of them by ``scripts/build_question_style.py``
(:func:`knowledge.holdout.style_examples`); leave-one-out fits one without the rulebook it
measures, its questions and its service questions (the bank belongs to no rulebook and
stays).

Written by hand: the fit is twenty lines of AdaGrad over sparse rows, and the run-time part is
one sorted-array search over the question's n-gram keys. scikit-learn (with SciPy) would be a
large dependency for one small fit, as for the ranking's weights (:mod:`knowledge.ranking`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from knowledge.text import segments, to_simplified

DATA = Path(__file__).with_name("data") / "question_style.npz"
EPOCHS = 6
LEARNING_RATE = 0.2
L2 = 1e-5
KEEP = 1e-3  # weights smaller than this are not shipped
# Fewer characters than this say what a question is about, not how it asks: half a keyword
# ("护理补贴") or a bare name is no evidence either way (1,441 of the 1,442 labelled fragments
# are shorter; 99 of the 1,634 out-of-scope questions are).
MIN_CHARS = 8


def _key(gram: str) -> int:
    """A 1-3-character n-gram as one integer, exactly: 21 bits per code point."""
    key = 0
    for n, char in enumerate(gram):
        key |= ord(char) << (21 * n)
    return key


def _run_keys(runs: Sequence[str]) -> NDArray[np.int64]:
    """The keys of the 1-3-grams of runs of simplified text (never across a run's end), each
    once, sorted. The sizes are unrolled: building the n-gram strings and keying them takes
    four times as long (116 against 29 µs a question). ``tests/test_style.py`` checks the
    keys against the plain string n-grams."""
    found: set[int] = set()
    for run in runs:
        codes = [ord(char) for char in run]
        for i, code in enumerate(codes):
            found.add(code)
            if i + 1 < len(codes):
                pair = code | codes[i + 1] << 21
                found.add(pair)
                if i + 2 < len(codes):
                    found.add(pair | codes[i + 2] << 42)
    return np.sort(np.fromiter(found, dtype=np.int64, count=len(found)))


def gram_keys(text: str) -> NDArray[np.int64]:
    """The keys of the question's character 1-3-grams, from its simplified text: what the
    model is fitted on and what it reads at run time."""
    return _run_keys(segments(to_simplified(text)))


@dataclass(frozen=True, eq=False)
class StyleModel:
    """Weights per n-gram of being off topic, and the intercept. The n-grams are one sorted
    array of integer keys searched with NumPy: a dict of 120,000 strings would take 32 MB of
    every process's heap, the arrays 2 MB."""

    bias: float
    keys: NDArray[np.int64]  # sorted
    values: NDArray[np.float64]

    @classmethod
    def of(cls, bias: float, weights: Mapping[str, float]) -> StyleModel:
        """A model from its weights per n-gram."""
        pairs = sorted((_key(gram), weight) for gram, weight in weights.items())
        return cls(
            bias,
            np.array([k for k, _ in pairs], dtype=np.int64),
            np.array([w for _, w in pairs], dtype=np.float64),
        )

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, StyleModel)
            and self.bias == other.bias
            and np.array_equal(self.keys, other.keys)
            and np.array_equal(self.values, other.values)
        )

    __hash__ = None  # type: ignore[assignment]

    def off_topic(self, text: str) -> float:
        """The probability that the question does not ask about the appraisal; 0.5 (no
        evidence) for a text too short to show how it asks."""
        runs = segments(to_simplified(text))
        if sum(len(run) for run in runs) < MIN_CHARS:
            return 0.5
        z = self.bias
        if len(self.keys):
            asked = _run_keys(runs)
            found = np.minimum(np.searchsorted(self.keys, asked), len(self.keys) - 1)
            z += float(self.values[found[self.keys[found] == asked]].sum())
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


NEUTRAL = StyleModel.of(0.0, {})  # 0.5 for every question: refuses nothing under a threshold >= 0.5


def fit_style(examples: Sequence[tuple[str, bool]], seed: int = 0) -> StyleModel:
    """Fit on (question, off topic?) pairs: both classes weigh the same in total, L2 towards
    zero, a fixed order of passes so a fit is the same every time."""
    return fit_style_keys([(gram_keys(text), off) for text, off in examples], seed)


def fit_style_keys(examples: Sequence[tuple[NDArray[np.int64], bool]], seed: int = 0) -> StyleModel:
    """:func:`fit_style` on the questions' n-gram keys (:func:`gram_keys`; for callers that
    fit many times)."""
    off_count = sum(1 for _, off in examples if off)
    if not off_count or off_count == len(examples):
        return NEUTRAL
    vocabulary = np.unique(np.concatenate([keys for keys, _ in examples]))
    rows = [(np.searchsorted(vocabulary, keys), off) for keys, off in examples]
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
    kept = np.abs(weights) >= KEEP
    return StyleModel(round(bias, 4), vocabulary[kept], np.round(weights[kept], 4))


def write_style(model: StyleModel, path: Path = DATA) -> None:
    """The model as NumPy arrays (loaded in milliseconds, unlike 120,000 lines of text)."""
    with path.open("wb") as file:
        np.savez_compressed(file, bias=np.array(model.bias), keys=model.keys, values=model.values)


def read_style(path: Path = DATA) -> StyleModel:
    """A model written by :func:`write_style`."""
    with np.load(path, allow_pickle=False) as data:
        return StyleModel(float(data["bias"]), data["keys"], data["values"])


@lru_cache(maxsize=1)
def shipped_style() -> StyleModel:
    """The model fitted on every labelled rulebook (``data/question_style.npz``)."""
    return read_style(DATA)
