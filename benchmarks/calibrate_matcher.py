"""Calibrate the matcher's decision thresholds on the labelled set, with a held-out estimate.

    python benchmarks/calibrate_matcher.py [--folds 5] [--max-wrong 0.015] [--min-oos 0.9]

Scores every labelled question once with the current weights, then searches the answer
threshold, margin and clarify threshold that maximise right outcomes subject to a ceiling on
confident-wrong answers and a floor on out-of-scope rejection. Prints the best setting on the
whole set, and a k-fold cross-validated estimate (thresholds chosen on k-1 folds, measured on
the held-out fold) so the published figures are not only in-sample.
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from knowledge.evaluation import LabelledQuestion, load_questions  # noqa: E402
from knowledge.matcher import Matcher, MatcherConfig  # noqa: E402
from knowledge.rulebook_files import read_rulebook  # noqa: E402

Scored = list[tuple[str, float]]


@dataclass(frozen=True)
class Thresholds:
    answer: float
    margin: float
    clarify: float


@dataclass(frozen=True)
class Rates:
    right_outcome: float
    answered_right: float
    oos_rejected: float
    confident_wrong: float


def decide(scored: Scored, t: Thresholds, window: float) -> tuple[str, list[str]]:
    if not scored or scored[0][1] < t.clarify:
        return "none", []
    runner_up = scored[1][1] if len(scored) > 1 else 0.0
    if scored[0][1] >= t.answer and scored[0][1] - runner_up >= t.margin:
        return "answer", [scored[0][0]]
    floor = max(t.clarify * 0.8, scored[0][1] - window)
    return "clarify", [c for c, s in scored[:5] if s >= floor] or [scored[0][0]]


def rates(data: list[tuple[LabelledQuestion, Scored]], t: Thresholds, window: float) -> Rates:
    answered = clarified = rejected = wrong = in_scope = 0
    for question, scored in data:
        status, codes = decide(scored, t, window)
        if question.expect:
            in_scope += 1
            if status == "answer":
                if codes[0] in question.expect:
                    answered += 1
                else:
                    wrong += 1
            elif status == "clarify" and question.expect & set(codes):
                clarified += 1
        elif status == "none":
            rejected += 1
        elif status == "answer":
            wrong += 1
    total = len(data)
    out = total - in_scope
    return Rates(
        (answered + clarified + rejected) / total,
        answered / in_scope if in_scope else 0.0,
        rejected / out if out else 0.0,
        wrong / total,
    )


def search(
    data: list[tuple[LabelledQuestion, Scored]], window: float, max_wrong: float, min_oos: float
) -> Thresholds:
    best: tuple[float, Thresholds] | None = None
    for answer in range(30, 91, 2):
        for margin in (0, 3, 5, 7, 10, 14):
            for clarify in range(20, answer + 1, 2):
                t = Thresholds(answer, margin, clarify)
                r = rates(data, t, window)
                if r.confident_wrong > max_wrong or r.oos_rejected < min_oos:
                    continue
                value = r.right_outcome + r.answered_right
                if best is None or value > best[0]:
                    best = (value, t)
    if best is None:
        raise SystemExit("no threshold meets the constraints")
    return best[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--max-wrong", type=float, default=0.015)
    parser.add_argument("--min-oos", type=float, default=0.9)
    args = parser.parse_args()
    rulebook = read_rulebook(ROOT / "knowledge" / "rulebooks" / "tax_bureau_2026.yaml")
    config = MatcherConfig()
    matcher = Matcher(rulebook.indicators, config)
    questions = load_questions(ROOT / "tests" / "data" / "questions.yaml")
    data = [
        (q, [(matcher.indicators[d].code, s) for d, s in matcher.score(q.q)[1]]) for q in questions
    ]
    window = config.clarify_window
    current = Thresholds(config.answer_threshold, config.answer_margin, config.clarify_threshold)
    chosen = search(data, window, args.max_wrong, args.min_oos)
    print(
        "| setting | answer | margin | clarify | right outcome | answered right | "
        "OOS rejected | confident wrong |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for label, t in (("current defaults", current), ("best on the whole set", chosen)):
        r = rates(data, t, window)
        print(
            f"| {label} | {t.answer:g} | {t.margin:g} | {t.clarify:g} | {r.right_outcome:.1%} | "
            f"{r.answered_right:.1%} | {r.oos_rejected:.1%} | {r.confident_wrong:.1%} |"
        )
    shuffled = data[:]
    random.Random(11).shuffle(shuffled)
    folds = [shuffled[i :: args.folds] for i in range(args.folds)]
    held: list[Rates] = []
    for k, fold in enumerate(folds):
        train = [item for j, f in enumerate(folds) if j != k for item in f]
        held.append(rates(fold, search(train, window, args.max_wrong, args.min_oos), window))
    mean = Rates(
        *(sum(getattr(r, f) for r in held) / len(held) for f in Rates.__dataclass_fields__)
    )
    print(
        f"| {args.folds}-fold held-out mean | | | | {mean.right_outcome:.1%} | "
        f"{mean.answered_right:.1%} | {mean.oos_rejected:.1%} | {mean.confident_wrong:.1%} |"
    )


if __name__ == "__main__":
    main()
