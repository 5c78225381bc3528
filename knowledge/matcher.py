"""Find the indicator a question is about: answer, clarify or none.

Two stages over a catalogue prepared once:

1. **Recall** - a weighted lexical index of character bigrams and phonetic bigrams over every
   field (name and aliases weigh most, then FAQ questions, the standard, the interpretations
   and FAQ answers). Scoring a query is a handful of vector additions, so 5,000 indicators
   cost the same as 50. Phonetic bigrams make homophone typos (满义度) hit 满意度.
2. **Precision** - RapidFuzz ``process.extract`` with ``partial_ratio`` compares the query's
   core (greetings stripped) with the candidates' names, aliases and FAQ questions, both as
   characters and as phonetic keys, which tolerates missing, extra and mistyped characters.

The lexical part is the share of the question's evidence an indicator explains, with the
denominator capped so a long, chatty message is judged on what it says about the rulebook.
The final score blends both; thresholds calibrated on ``tests/data/questions.yaml`` decide
between a confident answer, a "did you mean" with 2-5 candidates, and none. A confident
wrong answer is the worst outcome, so "answer" also needs a clear margin over the runner-up.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray
from rapidfuzz import fuzz, process

from knowledge.learned import exact_answers, question_key
from knowledge.rulebook import Indicator
from knowledge.synonyms import OfficeSynonym
from knowledge.text import bigrams, compact, phonetic, segments, strip_fillers, to_simplified

_CODE_PATTERN = re.compile(r"[a-z]{1,4}[-_.]?\d{1,4}")


class Outcome(StrEnum):
    """What the matcher concluded."""

    ANSWER = "answer"
    CLARIFY = "clarify"
    NONE = "none"


@dataclass(frozen=True)
class Candidate:
    """An indicator the question may be about, with a 0-100 confidence."""

    code: str
    name: str
    score: float


@dataclass(frozen=True)
class MatchResult:
    """The matcher's answer to one question."""

    question: str
    normalized: str
    status: Outcome
    matches: tuple[Candidate, ...]

    @property
    def best(self) -> Candidate | None:
        """The top candidate, if any."""
        return self.matches[0] if self.matches else None


@dataclass(frozen=True)
class MatcherConfig:
    """Weights and thresholds; the defaults are calibrated on the labelled question set."""

    lexical_scale: float = 1.5
    fuzzy_weight: float = 0.35
    faq_weight: float = 0.85
    pool: int = 40
    answer_threshold: float = 64.0
    answer_margin: float = 5.0
    clarify_threshold: float = 50.0
    clarify_window: float = 18.0
    max_question_chars: int = 500
    # Field weights of the recall index: how strongly a bigram in that field speaks for it.
    field_weights: tuple[tuple[str, float], ...] = (
        ("name", 1.0),
        ("alias", 1.0),
        ("faq_q", 0.7),
        ("category", 0.45),
        ("standard", 1.0),
        ("interpretation", 0.8),
        ("faq_a", 0.7),
    )
    phonetic_share: float = 0.5
    unknown_idf_share: float = 0.6
    partial_floor: float = 40.0
    mass_cap: float = 22.0


@dataclass(frozen=True)
class _Title:
    doc: int
    text: str
    phon: str


def _core(text: str) -> tuple[str, list[str]]:
    simplified = to_simplified(text)
    parts = segments(strip_fillers(simplified))
    return simplified, parts


class Matcher:
    """A question matcher over one set of indicators, prepared once and then read-only."""

    def __init__(
        self,
        indicators: Sequence[Indicator],
        config: MatcherConfig | None = None,
        *,
        synonyms: Sequence[OfficeSynonym] = (),
        learned: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.config = config or MatcherConfig()
        self.indicators = tuple(indicators)
        self._learned = learned or {}
        codes = {indicator.code: doc for doc, indicator in enumerate(self.indicators)}
        self._exact = {
            key: codes[code] for key, code in exact_answers(self._learned).items() if code in codes
        }
        # Everyday word → official term, longest word first so 网上办税 wins over 网上办.
        self._office = sorted(
            ((compact(s.word), compact(s.term)) for s in synonyms),
            key=lambda pair: -len(pair[0]),
        )
        self._codes = {
            re.sub(r"[-_.]", "", i.code.lower()): n for n, i in enumerate(self.indicators)
        }
        self._titles: list[_Title] = []
        self._faqs: list[_Title] = []
        self._build_index()

    # ------------------------------------------------------------ preparation

    def _build_index(self) -> None:
        weights = dict(self.config.field_weights)
        per_doc: list[dict[str, float]] = []
        for doc, indicator in enumerate(self.indicators):
            fields: list[tuple[str, str]] = [("name", indicator.name)]
            fields += [("alias", a) for a in indicator.aliases]
            fields += [("faq_q", f.q) for f in indicator.faq]
            # Phrasings learned from use count as questions the indicator answers.
            fields += [("faq_q", q) for q in self._learned.get(indicator.code, ())]
            fields += [("faq_a", f.a) for f in indicator.faq]
            fields += [("category", indicator.category), ("standard", indicator.standard)]
            fields += [("interpretation", i.text) for i in indicator.interpretations]
            term_weight: dict[str, float] = {}
            for field, raw in fields:
                if not raw:
                    continue
                _simplified, parts = _core(raw)
                compacted = "".join(parts)
                if field in ("name", "alias") and compacted:
                    self._titles.append(_Title(doc, compacted, phonetic(compacted)))
                elif field == "faq_q" and compacted:
                    self._faqs.append(_Title(doc, compacted, phonetic(compacted)))
                counts: dict[str, int] = defaultdict(int)
                for part in parts:
                    for gram in bigrams(part):
                        counts["c" + gram] += 1
                    for gram in bigrams(phonetic(part)):
                        counts["p" + gram] += 1
                base = weights[field]
                for term, tf in counts.items():
                    weight = base * tf / (tf + 0.5)  # saturating: repetition helps a little
                    if weight > term_weight.get(term, 0.0):
                        term_weight[term] = weight
            per_doc.append(term_weight)
        postings: dict[str, tuple[list[int], list[float]]] = defaultdict(lambda: ([], []))
        for doc, term_weight in enumerate(per_doc):
            for term, weight in term_weight.items():
                ids, ws = postings[term]
                ids.append(doc)
                ws.append(weight)
        n = max(len(self.indicators), 1)
        self._postings: dict[str, tuple[NDArray[np.int32], NDArray[np.float64]]] = {}
        self._idf: dict[str, float] = {}
        for term, (ids, ws) in postings.items():
            df = len(ids)
            self._idf[term] = math.log(1 + (n - df + 0.5) / (df + 0.5))
            self._postings[term] = (np.asarray(ids, dtype=np.int32), np.asarray(ws))
        self._max_idf = math.log(1 + (n + 0.5) / 1.5)
        self._title_texts = [t.text for t in self._titles]
        self._title_phons = [t.phon for t in self._titles]
        self._titles_by_doc: dict[int, list[int]] = defaultdict(list)
        for k, title in enumerate(self._titles):
            self._titles_by_doc[title.doc].append(k)
        self._faqs_by_doc: dict[int, list[int]] = defaultdict(list)
        for k, faq in enumerate(self._faqs):
            self._faqs_by_doc[faq.doc].append(k)

    # ------------------------------------------------------------ scoring

    def _recall(self, parts: list[str]) -> NDArray[np.float64]:
        config = self.config
        scores = np.zeros(len(self.indicators))
        mass = 0.0
        seen: set[str] = set()  # a term repeated in the question counts once
        for part in parts:
            for prefix, grams, share in (
                ("c", bigrams(part), 1.0 - config.phonetic_share),
                ("p", bigrams(phonetic(part)), config.phonetic_share),
            ):
                for gram in grams:
                    term = prefix + gram
                    if term in seen:
                        continue
                    seen.add(term)
                    posting = self._postings.get(term)
                    if posting is None:
                        mass += share * self._max_idf * config.unknown_idf_share
                        continue
                    idf = self._idf[term] * share
                    mass += idf
                    ids, weights = posting
                    scores[ids] += idf * weights
        if mass > 0:
            # Long messages are judged on the evidence they hold, not diluted by their chatter.
            scores /= min(mass, config.mass_cap)
        return scores

    def _similarity(self, query: str, title: str, raw: float) -> float:
        """Rescale partial_ratio so half-matches count little, then by how much is covered."""
        short, long_ = sorted((len(query), len(title)))
        if long_ == 0:
            return 0.0
        floor = self.config.partial_floor
        raw = max(0.0, (raw - floor) / (100.0 - floor) * 100.0)
        if len(query) < len(title):
            # a fragment of a name: strong but not complete evidence
            return raw * (0.7 + 0.3 * short / long_)
        # the name found inside a longer question: full credit when the name is long enough
        return raw * (0.85 + 0.15 * min(1.0, len(title) / 4))

    def _fuzzy(
        self,
        core: str,
        core_phon: str,
        candidates: Sequence[int],
        titles: list[_Title],
        by_doc: dict[int, list[int]],
    ) -> dict[int, float]:
        keys = [k for doc in candidates for k in by_doc.get(doc, ())]
        if not keys or not core:
            return {}
        choices = {k: titles[k].text for k in keys}
        phon_choices = {k: titles[k].phon for k in keys}
        best: dict[int, float] = {}
        for query, pool, factor in ((core, choices, 1.0), (core_phon, phon_choices, 0.96)):
            for _text, raw, key in process.extract(
                query,
                pool,
                scorer=fuzz.partial_ratio,
                processor=None,
                limit=None,
                score_cutoff=max(40.0, self.config.partial_floor),
            ):
                doc = titles[key].doc
                score = self._similarity(core, titles[key].text, raw) * factor
                if score > best.get(doc, 0.0):
                    best[doc] = score
        return best

    def _rewrite(self, parts: list[str]) -> list[str]:
        """Add the official term after every everyday word of the office synonym table."""
        if not self._office:
            return parts
        terms = [term for part in parts for word, term in self._office if word and word in part]
        return parts + list(dict.fromkeys(terms))

    def score(self, text: str) -> tuple[str, list[tuple[int, float]]]:
        """The normalised question and every candidate with its raw score (may exceed 100)."""
        config = self.config
        simplified, parts = _core(text[: config.max_question_chars])
        parts = self._rewrite(parts)
        core = "".join(parts)
        if not core or not self.indicators:
            return simplified, []
        for match in _CODE_PATTERN.finditer(simplified):
            doc = self._codes.get(re.sub(r"[-_.]", "", match.group()))
            if doc is not None:
                return simplified, [(doc, 1000.0)]
        recall = self._recall(parts)
        pool = min(config.pool, len(self.indicators))
        top = np.argpartition(-recall, pool - 1)[:pool] if pool < len(recall) else np.arange(pool)
        candidates = [int(d) for d in top if recall[d] > 0]
        core_phon = phonetic(core)
        title_scores = self._fuzzy(core, core_phon, candidates, self._titles, self._titles_by_doc)
        faq_scores = self._fuzzy(core, core_phon, candidates, self._faqs, self._faqs_by_doc)
        scored: list[tuple[int, float]] = []
        for doc in candidates:
            fuzzy = max(title_scores.get(doc, 0.0), faq_scores.get(doc, 0.0) * config.faq_weight)
            lexical = float(recall[doc]) * 100 * config.lexical_scale
            scored.append((doc, lexical + config.fuzzy_weight * fuzzy))
        scored.sort(key=lambda item: (-item[1], item[0]))
        return simplified, scored

    # ------------------------------------------------------------ decision

    def match_question(self, text: str) -> MatchResult:
        """Answer, clarify (2-5 candidates) or none for one question."""
        config = self.config
        learned_doc = self._exact.get(question_key(text[: config.max_question_chars]))
        if learned_doc is not None:
            indicator = self.indicators[learned_doc]
            known = Candidate(indicator.code, indicator.name, 100.0)
            return MatchResult(text, to_simplified(text), Outcome.ANSWER, (known,))
        normalized, scored = self.score(text)

        def candidate(doc: int, score: float) -> Candidate:
            indicator = self.indicators[doc]
            # decisions use the raw score; what is shown is a 0-100 confidence
            return Candidate(indicator.code, indicator.name, round(min(score, 100.0), 1))

        if not scored or scored[0][1] < config.clarify_threshold:
            return MatchResult(text, normalized, Outcome.NONE, ())
        best_doc, best = scored[0]
        runner_up = scored[1][1] if len(scored) > 1 else 0.0
        if best >= config.answer_threshold and best - runner_up >= config.answer_margin:
            return MatchResult(text, normalized, Outcome.ANSWER, (candidate(best_doc, best),))
        floor = max(config.clarify_threshold * 0.8, best - config.clarify_window)
        shortlist = [candidate(d, s) for d, s in scored[:5] if s >= floor]
        if len(shortlist) < 2 and len(scored) > 1:
            shortlist = [candidate(d, s) for d, s in scored[:2]]
        if len(shortlist) < 2:
            return MatchResult(text, normalized, Outcome.ANSWER, (candidate(best_doc, best),))
        return MatchResult(text, normalized, Outcome.CLARIFY, tuple(shortlist))
