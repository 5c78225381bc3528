"""How far the leave-one-rulebook-out figures are from what this design can reach.

    python benchmarks/bench_bounds.py [--sizes 8,16,24,32] [--skip-curve]

**In-sample bound.** Every labelled question in everything learned: the word associations
hold the rulebook's own paraphrases, the style model is the shipped one (all questions), the
ranking's weights and the decision's parameters are chosen on all rulebooks; then each
rulebook is measured on its own questions. This is memory, not understanding; it shows which
targets this design misses even with the answers in hand. Next to it, the best baseline
(WRatio or BM25 over jieba, tuned on the test rulebook, as in ``bench_matcher.py``) and the
10-point lead the issue asks for.

**Labelled-data curve.** The word associations are the one part that grows with labelled
data. The leave-one-rulebook-out is run again with each held-out rulebook's associations
counted from a random N of the other rulebooks (seeded by its name), everything else as in
``bench_matcher.py``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.baselines import Bm25Baseline, WRatioBaseline, tuned_on_test  # noqa: E402
from knowledge.holdout import (  # noqa: E402
    TARGETS,
    LabelledRulebook,
    PreparedCase,
    Rates,
    choose_params,
    labelled_rulebooks,
    leave_one_out,
    prepare_case,
    prepare_cases,
)
from knowledge.prepare import DecisionParams  # noqa: E402
from knowledge.ranking import fit_rank_weights  # noqa: E402

WORKERS = 2


def best_baseline_top1(book: LabelledRulebook) -> float:
    """The better baseline's top-1, its threshold tuned on the rulebook's own questions."""
    names = {i.code: i.name for i in book.rulebook.indicators}
    best = 0.0
    for baseline in (
        WRatioBaseline(book.rulebook.indicators),
        Bm25Baseline(book.rulebook.indicators),
    ):
        best = max(best, tuned_on_test(baseline.best, names, book.questions).top1_accuracy)
    return best


_BOOKS: list[LabelledRulebook] = []  # what the forked workers read
_CASES: list[PreparedCase] = []


def _prepared_in_sample(k: int) -> PreparedCase:
    case = prepare_case(_BOOKS[k], association_excluded=())
    case.ranking_samples()
    case.grid_rates()
    return case


_FITTED: list[tuple[tuple[float, ...], DecisionParams]] = []  # weights and parameters


def _measured_in_sample(k: int) -> Rates:
    case = _CASES[k]
    weights, params = _FITTED[0]
    config = replace(case.matcher.config, rank_weights=weights)
    measured = prepare_case(case.book, case.negatives, config, built=case, association_excluded=())
    return measured.rates(params)


def in_sample(books: list[LabelledRulebook]) -> None:
    started = time.perf_counter()
    _BOOKS[:] = books
    context = multiprocessing.get_context("fork")
    with context.Pool(WORKERS) as pool:
        _CASES[:] = pool.map(_prepared_in_sample, range(len(books)))
    weights = fit_rank_weights(s for c in _CASES for s in c.ranking_samples())
    _FITTED[:] = [(weights, choose_params(_CASES))]
    with context.Pool(WORKERS) as pool:
        rates = pool.map(_measured_in_sample, range(len(books)))
    print(f"In-sample bound, {len(books)} rulebooks ({time.perf_counter() - started:.0f} s):")
    print("| rulebook | top-1 | paraphrase | OOS rejected | best baseline | lead | lead ≥ 10 |")
    print("|---|---|---|---|---|---|---|")
    missed = 0
    for book, rate in zip(books, rates, strict=True):
        baseline = best_baseline_top1(book)
        lead = rate.top1 - baseline
        missed += lead < TARGETS["lead"]
        print(
            f"| {book.name} | {100 * rate.top1:.1f}% | {100 * rate.paraphrase:.1f}% "
            f"| {100 * rate.oos_rejection:.1f}% | {100 * baseline:.1f}% | {100 * lead:+.1f} "
            f"| {'yes' if lead >= TARGETS['lead'] else 'no'} |"
        )
    mean = statistics.mean
    print(
        f"\nMeans: top-1 {100 * mean(r.top1 for r in rates):.2f}, paraphrase "
        f"{100 * mean(r.paraphrase for r in rates):.2f}, OOS rejected "
        f"{100 * mean(r.oos_rejection for r in rates):.2f}; lead missed on {missed}"
    )


def curve(books: list[LabelledRulebook], sizes: list[int]) -> None:
    names = [b.name for b in books]
    print("\n| associations from | paraphrase top-1, mean | paraphrase ≥ 70% on | top-1, mean |")
    print("|---|---|---|---|")
    for size in sizes:
        started = time.perf_counter()
        excluded: dict[str, tuple[str, ...]] = {}
        for name in names:
            others = [n for n in names if n != name]
            kept = set(random.Random(name).sample(others, min(size, len(others))))
            excluded[name] = (name, *(n for n in others if n not in kept))
        cases = prepare_cases(books, workers=WORKERS, association_excluded=excluded)
        rates = [Rates.of(h.evaluation) for h in leave_one_out(cases, workers=WORKERS)]
        met = sum(r.paraphrase >= TARGETS["paraphrase"] for r in rates)
        print(
            f"| {size} other rulebooks | {100 * statistics.mean(r.paraphrase for r in rates):.2f} "
            f"| {met} | {100 * statistics.mean(r.top1 for r in rates):.2f} |"
            f" ({time.perf_counter() - started:.0f} s)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="8,16,24,32")
    parser.add_argument("--skip-curve", action="store_true")
    args = parser.parse_args()
    books = labelled_rulebooks(ROOT)
    in_sample(books)
    if not args.skip_curve:
        curve(books, [int(n) for n in args.sizes.split(",")])


if __name__ == "__main__":
    main()
