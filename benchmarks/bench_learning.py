"""What the office's review loop buys: one month of questions attached, the next month measured.

    python benchmarks/bench_learning.py

For each rulebook with a labelled question set, the questions are split into two "months"
(alternate questions, so every indicator has questions in both). Month 1 is asked; every
in-scope question the matcher did not answer right is attached to its labelled indicator,
as the office would from ``kpibot report unanswered`` (a clarify pick has the same effect);
out-of-scope ones are left alone. Month 2 (questions never seen) is then measured with and
without the learned phrasings, next to month 1 asked again.

Each matcher is the one the product uses (:func:`knowledge.prepare.prepare_matcher`, as
behind ``kpibot ask`` and the bot): its index built and its decision calibrated on the
rulebook, with the learned phrasings among the calibration's positives once attached. Each
rulebook is held out of what is learned from the labelled questions: the word associations
leave its questions out and the question-style model is fitted without them, as in the
leave-one-rulebook-out benchmark. The decision's global parameters
(:class:`knowledge.prepare.DecisionParams`) and the ranking's weights were chosen on labelled
rulebooks including these, so "no learning" is close to, not exactly, a held-out figure.
Nothing was tuned for this benchmark and the split is fixed.
"""

from __future__ import annotations

import multiprocessing
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from knowledge.evaluation import Evaluation, evaluate, office_month  # noqa: E402
from knowledge.holdout import (  # noqa: E402
    LabelledRulebook,
    Rates,
    held_out_style,
    labelled_rulebooks,
    style_keys,
)
from knowledge.matcher import MatcherConfig  # noqa: E402
from knowledge.prepare import prepare_matcher  # noqa: E402

COLUMNS = ("top-1", "paraphrase", "answered", "oos", "c-wrong")
Figures = tuple[float, float, float, float, float]


def figures(evaluation: Evaluation) -> Figures:
    """The columns of one row."""
    rates = Rates.of(evaluation)
    return (
        rates.top1,
        rates.paraphrase,
        rates.answered_right,
        rates.oos_rejection,
        rates.confident_wrong,
    )


_BOOKS: list[LabelledRulebook] = []  # what the forked workers read
_STYLE_EXAMPLES: list[tuple[str, NDArray[np.int64], bool]] = []


def one_rulebook(k: int) -> tuple[str, int, tuple[Figures, Figures, Figures]]:
    """Rulebook ``k``: phrasings attached, then month 2 without and with them, month 1 again."""
    book = _BOOKS[k]
    indicators = book.rulebook.indicators
    config = MatcherConfig(association_excluded=(book.name,))
    style = held_out_style(book.name, _STYLE_EXAMPLES)
    month1, month2 = book.questions[0::2], book.questions[1::2]
    plain = prepare_matcher(indicators, config, style=style)
    learned = office_month(plain.match_question, month1)
    taught = prepare_matcher(indicators, config, learned=learned, style=style)
    return (
        book.name,
        sum(len(q) for q in learned.values()),
        (
            figures(evaluate(month2, plain.match_question)),
            figures(evaluate(month2, taught.match_question)),
            figures(evaluate(month1, taught.match_question)),
        ),
    )


def row(name: str, values: Figures, digits: int = 1) -> str:
    return f"| {name} | " + " | ".join(f"{100 * v:.{digits}f}%" for v in values) + " |"


def main() -> None:
    started = time.perf_counter()
    _BOOKS[:] = labelled_rulebooks(ROOT)
    _STYLE_EXAMPLES[:] = style_keys(_BOOKS)
    with multiprocessing.get_context("fork").Pool(2) as pool:
        results = pool.map(one_rulebook, range(len(_BOOKS)))
    print("| rulebook (attached in month 1) | matcher | " + " | ".join(COLUMNS) + " |")
    print("|---|---|" + "---|" * len(COLUMNS))
    labels = ("month 2, no learning", "month 2, learned", "month 1 again, learned")
    for name, attached, rows in results:
        for n, (label, values) in enumerate(zip(labels, rows, strict=True)):
            head = f"{name} ({attached} attached)" if n == 0 else ""
            print(row(f"{head} | {label}", values))
    print()
    print(f"Means over {len(results)} rulebooks ({time.perf_counter() - started:.0f} s):\n")
    print("| matcher | " + " | ".join(COLUMNS) + " | paraphrase ≥ 70% on |")
    print("|---|" + "---|" * (len(COLUMNS) + 1))
    for n, label in enumerate(labels):
        chosen = [rows[n] for _, _, rows in results]
        means = [statistics.mean(f[c] for f in chosen) for c in range(len(COLUMNS))]
        met = sum(f[1] >= 0.70 for f in chosen)
        figures_ = (means[0], means[1], means[2], means[3], means[4])
        print(row(label, figures_, digits=2) + f" {met} |")


if __name__ == "__main__":
    main()
