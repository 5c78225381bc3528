"""The matcher's two baselines and the threshold tuning that is generous to them."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jieba
from rank_bm25 import BM25Okapi
from rapidfuzz import fuzz, process, utils

from knowledge.evaluation import LabelledQuestion, evaluate
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
