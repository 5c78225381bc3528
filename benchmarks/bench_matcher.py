"""Matcher speed and accuracy next to two baselines, on the sample and a 5,000-indicator rulebook.

    python benchmarks/bench_matcher.py [--size 5000] [--repeat 3]

Baselines: (a) plain RapidFuzz WRatio over names and aliases; (b) BM25 (rank_bm25) over jieba
tokens of every field. Each baseline's answer/none threshold is tuned on the labelled set for
its own best result, so the comparison is fair to them.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import jieba
from rank_bm25 import BM25Okapi
from rapidfuzz import fuzz, process, utils

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.synthetic import synthetic_rulebook  # noqa: E402
from knowledge.evaluation import LabelledQuestion, evaluate, load_questions  # noqa: E402
from knowledge.matcher import Candidate, Matcher, MatchResult, Outcome  # noqa: E402
from knowledge.rulebook import Indicator  # noqa: E402
from knowledge.rulebook_files import read_rulebook  # noqa: E402
from knowledge.text import to_simplified  # noqa: E402

jieba.setLogLevel(60)
Scorer = Callable[[str], tuple[str, float] | None]


class WRatioBaseline:
    """extractOne with WRatio over names and aliases."""

    def __init__(self, indicators: Sequence[Indicator]) -> None:
        self.choices: dict[int, str] = {}
        self.codes: list[str] = []
        for item in indicators:
            for title in (item.name, *item.aliases):
                self.choices[len(self.codes)] = title
                self.codes.append(item.code)

    def best(self, text: str) -> tuple[str, float] | None:
        found = process.extractOne(
            text, self.choices, scorer=fuzz.WRatio, processor=utils.default_process
        )
        return (self.codes[found[2]], float(found[1])) if found else None


class Bm25Baseline:
    """BM25 over jieba tokens of every field."""

    def __init__(self, indicators: Sequence[Indicator]) -> None:
        self.codes = [i.code for i in indicators]
        corpus = []
        for item in indicators:
            text = " ".join(
                [
                    item.name,
                    *item.aliases,
                    item.standard,
                    *(i.text for i in item.interpretations),
                    *(f"{f.q} {f.a}" for f in item.faq),
                ]
            )
            corpus.append([t for t in jieba.lcut_for_search(text) if t.strip()])
        self.bm25 = BM25Okapi(corpus)

    def best(self, text: str) -> tuple[str, float] | None:
        tokens = [t for t in jieba.lcut_for_search(to_simplified(text)) if t.strip()]
        if not tokens:
            return None
        scores = self.bm25.get_scores(tokens)
        top = int(scores.argmax())
        return self.codes[top], float(scores[top])


def thresholded(
    best: Scorer, names: dict[str, str], threshold: float
) -> Callable[[str], MatchResult]:
    def match(text: str) -> MatchResult:
        found = best(text)
        if found is None or found[1] < threshold:
            return MatchResult(text, text, Outcome.NONE, ())
        return MatchResult(
            text, text, Outcome.ANSWER, (Candidate(found[0], names[found[0]], found[1]),)
        )

    return match


def tune(best: Scorer, names: dict[str, str], questions: list[LabelledQuestion]) -> float:
    """The threshold that maximises right answers + rejected out-of-scope questions."""
    cached = {q.q: best(q.q) for q in questions}
    candidates = sorted({round(f[1], 2) for f in cached.values() if f is not None})
    best_value, best_threshold = -1.0, 0.0
    for threshold in candidates[:: max(1, len(candidates) // 200)]:
        ev = evaluate(questions, thresholded(lambda t: cached[t], names, threshold))
        value = ev.answered_right + ev.oos_rejected
        if value > best_value:
            best_value, best_threshold = value, threshold
    return best_threshold


def latency(
    match: Callable[[str], object], questions: list[str], repeat: int
) -> tuple[float, float, float]:
    times: list[float] = []
    for _ in range(repeat):
        for q in questions:
            start = time.perf_counter()
            match(q)
            times.append(time.perf_counter() - start)
    times.sort()
    p50 = statistics.median(times) * 1000
    p99 = times[int(len(times) * 0.99) - 1] * 1000
    return p50, p99, len(times) / sum(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    real = read_rulebook(ROOT / "knowledge" / "rulebooks" / "tax_bureau_2026.yaml")
    questions = load_questions(ROOT / "tests" / "data" / "questions.yaml")
    texts = [q.q for q in questions]
    rows: list[tuple[str, ...]] = []
    for label, rulebook in (
        ("sample (48)", real),
        (f"synthetic ({args.size})", synthetic_rulebook(real, args.size)),
    ):
        names = {i.code: i.name for i in rulebook.indicators}
        start = time.perf_counter()
        matcher = Matcher(rulebook.indicators)
        build = time.perf_counter() - start
        wratio = WRatioBaseline(rulebook.indicators)
        bm25 = Bm25Baseline(rulebook.indicators)

        def matcher_best(text: str, _m: Matcher = matcher) -> tuple[str, float] | None:
            scored = _m.score(text)[1]
            return (_m.indicators[scored[0][0]].code, scored[0][1]) if scored else None

        rankers: list[Scorer] = [matcher_best, wratio.best, bm25.best]
        systems: list[tuple[str, Callable[[str], MatchResult], float]] = [
            ("kpibot matcher", matcher.match_question, build),
            (
                "RapidFuzz WRatio (names+aliases)",
                thresholded(wratio.best, names, tune(wratio.best, names, questions)),
                0.0,
            ),
            (
                "BM25 over jieba tokens",
                thresholded(bm25.best, names, tune(bm25.best, names, questions)),
                0.0,
            ),
        ]
        in_scope = [q for q in questions if q.expect]
        for (name, match, built), ranker in zip(systems, rankers, strict=True):
            ev = evaluate(questions, match)
            ranked = sum(
                (found := ranker(q.q)) is not None and found[0] in q.expect for q in in_scope
            )
            right = (ev.answered_right + ev.clarify_contains + ev.oos_rejected) / len(questions)
            p50, p99, qps = latency(match, texts, args.repeat)
            rows.append(
                (
                    label,
                    name,
                    f"{p50:.2f}",
                    f"{p99:.2f}",
                    f"{qps:,.0f}",
                    f"{ranked / len(in_scope):.1%}",
                    f"{ev.top1_accuracy:.1%}",
                    f"{ev.answered_right / ev.in_scope:.1%}",
                    f"{ev.oos_rejection:.1%}",
                    f"{ev.confident_wrong_rate:.1%}",
                    f"{right:.1%}",
                    f"{built:.2f}" if built else "",
                )
            )
    header = (
        "rulebook",
        "system",
        "p50 ms",
        "p99 ms",
        "q/s",
        "ranked top-1",
        "top-1",
        "answered right",
        "OOS rejected",
        "confident wrong",
        "right outcome",
        "build s",
    )
    out_of_scope = sum(not q.expect for q in questions)
    print(
        f"{len(questions)} labelled questions ({out_of_scope} out of scope), "
        f"{args.repeat} passes each; targets: p99 <= 5 ms at 5,000 indicators, "
        "accuracy above both baselines"
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
