"""The matcher's two baselines and the threshold tuning that is generous to them."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jieba
from rank_bm25 import BM25Okapi
from rapidfuzz import fuzz, process, utils

from knowledge.evaluation import Evaluation, LabelledQuestion, evaluate
from knowledge.holdout import Rates, objective
from knowledge.matcher import Candidate, MatchResult, Outcome
from knowledge.rulebook import Indicator
from knowledge.text import to_simplified

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
        """The best indicator code and its score."""
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
        """The best indicator code and its score."""
        tokens = [t for t in jieba.lcut_for_search(to_simplified(text)) if t.strip()]
        if not tokens:
            return None
        scores = self.bm25.get_scores(tokens)
        top = int(scores.argmax())
        return self.codes[top], float(scores[top])


def thresholded(
    best: Scorer, names: dict[str, str], threshold: float
) -> Callable[[str], MatchResult]:
    """A matcher that answers the best indicator when its score reaches ``threshold``."""
    return banded(best, names, threshold, threshold)


def banded(
    best: Scorer, names: dict[str, str], answer: float, clarify: float
) -> Callable[[str], MatchResult]:
    """Answer at ``answer`` or more, offer the best indicator ("您是想问…") from ``clarify``."""

    def match(text: str) -> MatchResult:
        found = best(text)
        if found is None or found[1] < clarify:
            return MatchResult(text, text, Outcome.NONE, ())
        status = Outcome.ANSWER if found[1] >= answer else Outcome.CLARIFY
        return MatchResult(text, text, status, (Candidate(found[0], names[found[0]], found[1]),))

    return match


def tune_at_equal_risk(
    best: Scorer, names: dict[str, str], questions: list[LabelledQuestion], max_wrong: float
) -> tuple[float, float]:
    """Answer and clarify thresholds chosen on the test questions themselves for kpibot's own
    objective (:func:`knowledge.holdout.objective`), under kpibot's confident-wrong ceiling:
    the baseline run the way the product has to run, with every advantage of tuning on test."""
    cached = {q.q: best(q.q) for q in questions}
    values = sorted({round(f[1], 2) for f in cached.values() if f is not None})
    grid = [*values[:: max(1, len(values) // 60)], float("inf")]
    chosen: tuple[float, float, float] = (-float("inf"), float("inf"), float("inf"))
    for i, clarify in enumerate(grid):
        for answer in grid[i:]:
            ev = evaluate(questions, banded(lambda t: cached[t], names, answer, clarify))
            if ev.confident_wrong_rate > max_wrong:
                continue
            value = objective(Rates.of(ev))
            if value > chosen[0]:
                chosen = (value, answer, clarify)
    return chosen[1], chosen[2]


def tuned_on_test(
    best: Scorer, names: dict[str, str], questions: list[LabelledQuestion]
) -> Evaluation:
    """The baseline measured with the threshold :func:`tune` picks on these very questions."""
    return evaluate(questions, thresholded(best, names, tune(best, names, questions)))


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
