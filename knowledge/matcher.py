"""Find the indicator a question is about: answer, clarify or none.

Two stages over an index prepared once per rulebook version (:mod:`knowledge.index`):

1. **Recall** (:mod:`knowledge.recall`) - weighted lexical evidence: character and phonetic
   bigrams, content characters, the rulebook's words, their thesaurus synonyms and related
   words, over every field. A question's score for
   an indicator is the share of the question's evidence that indicator explains, with the
   denominator capped so a long, chatty message is judged on what it says about the rulebook.
   The office synonym table rewrites everyday words into official terms first.
2. **Precision** - RapidFuzz ``partial_ratio`` compares the question's core with the candidates'
   names, aliases, FAQ questions and learned phrasings, as characters and as phonetic keys,
   which tolerates missing, extra and mistyped characters.

The ranking mixes each kind of that evidence, plain BM25 over the same words and content
characters (kept in the index) and the fuzzy similarity, with weights fitted on labelled
rulebooks (:mod:`knowledge.ranking`).

The decision is not one fixed score: :mod:`knowledge.calibration` turns a handful of features
(score, margin over the runner-up, how much of the question the rulebook's vocabulary
explains, how much specific evidence there is) into the probability that the question is
about the rulebook at all and that the best candidate is right, with coefficients fitted per
rulebook at import time. A confident wrong answer is the worst outcome: when the evidence is
spread over many indicators (考核, 扣分) the matcher asks which one is meant.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray
from rapidfuzz import fuzz, process

from knowledge.calibration import Calibration, Features, out_of_scope_bank
from knowledge.cues import (
    asks_points,
    asks_rule,
    asks_service,
    names_service,
    only_cue_words,
    tells_situation,
)
from knowledge.index import (
    LexicalIndex,
    Title,
    build_index,
    core_parts,
    question_char_terms,
)
from knowledge.learned import exact_answers, learned_answer, question_key
from knowledge.ranking import FUZZY, RANK_WEIGHTS, rank_scores, with_curves
from knowledge.recall import Evidence, Recall
from knowledge.rulebook import Indicator
from knowledge.stored_indicators import StoredIndicators, codes_and_names
from knowledge.style import StyleModel, shipped_style
from knowledge.synonyms import OfficeSynonym
from knowledge.text import phonetic, to_simplified

_CODE_PATTERN = re.compile(r"[a-z]{1,4}[-_.]?\d{1,4}")
_CODE_SEPARATORS = str.maketrans("", "", "-_.")  # as re.sub(r"[-_.]", ""), 10x faster


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
    """Evidence shares and fixed limits, set a priori (not tuned on any labelled set), and the
    ranking's mix of evidence, fitted on labelled rulebooks."""

    faq_weight: float = 0.85
    pool: int = 40
    # Candidates within this many score points of the best are offered in a clarification
    # (2-5 of them). 30 keeps the mean list of the hand-set mix (2.9 candidates at 18 points)
    # under the fitted mix, whose scores spread wider.
    clarify_window: float = 30.0
    max_question_chars: int = 500
    # How much one term of each kind weighs in a question's evidence.
    shares: tuple[tuple[str, float], ...] = (
        ("c", 0.5),
        ("p", 0.5),
        ("u", 0.25),
        ("w", 0.5),
        ("s", 0.3),
    )
    unknown_idf_share: float = 0.6
    partial_floor: float = 40.0
    mass_cap: float = 22.0
    # How many of BM25's best indicators join the candidates the weighted evidence chose.
    bm25_pool: int = 10
    # Rulebook words close in meaning to a question word weigh like thesaurus synonyms ("s"),
    # times their cosine (a priori, as the shares above).
    related_share: float = 0.3
    # How the kinds of evidence, BM25 and fuzzy similarity mix into the ranking score:
    # fitted on labelled rulebooks (:mod:`knowledge.ranking`), not set a priori.
    rank_weights: tuple[float, ...] = RANK_WEIGHTS
    # Labelled rulebooks whose questions the learned associations leave out
    # (:mod:`knowledge.associations`): a measured rulebook leaves out its own.
    association_excluded: tuple[str, ...] = ()


_NAMES_CHECKED = 5  # candidates whose names are looked at: as many as a clarification lists


@dataclass(frozen=True)
class Scored:
    """A question scored against every candidate, best first, with the decision's features."""

    normalized: str
    ranked: list[tuple[int, float]]
    features: Features | None = None
    code_hit: bool = False
    # only appraisal words (考核, 扣分), words found whole inside the names of several
    # candidates ("12366": 12366热线接通率与办结率, 12366热线工单超时), or a statement that
    # names a service (电子税务局的APP老是闪退): at most a clarification
    generic: bool = False
    # asks what something does to the score, or tells a situation without asking anything
    # (which, said to an appraisal assistant, asks how it counts): clarified, never refused
    about_points: bool = False


@dataclass(frozen=True)
class _Ranking:
    simplified: str
    core: str
    evidence: Evidence
    recall: NDArray[np.float64]
    docs: list[int]  # best first
    rows: NDArray[np.float64]  # each candidate's evidence (knowledge.ranking), in that order
    scores: NDArray[np.float64]


class Matcher:
    """A question matcher over one rulebook's indicators, prepared once and then read-only."""

    def __init__(
        self,
        indicators: Sequence[Indicator],
        config: MatcherConfig | None = None,
        *,
        synonyms: Sequence[OfficeSynonym] = (),
        learned: Mapping[str, Sequence[str]] | None = None,
        background: Sequence[str] | None = None,
        index: LexicalIndex | None = None,
        calibration: Calibration | None = None,
        style: StyleModel | None = None,
    ) -> None:
        self.config = config or MatcherConfig()
        # how questions about the appraisal are asked; leave-one-out passes one fitted
        # without the rulebook it measures (:mod:`knowledge.style`)
        self.style = style or shipped_style()
        # a matcher loaded from its cache file keeps the file's lazily decoded indicators
        self.indicators: Sequence[Indicator] = (
            indicators if isinstance(indicators, StoredIndicators) else tuple(indicators)
        )
        self.index = index or build_index(
            self.indicators,
            synonyms=synonyms,
            learned=learned,
            background=out_of_scope_bank() if background is None else background,
            association_excluded=self.config.association_excluded,
        )
        self.calibration = calibration or Calibration()
        # A question learned for exactly one indicator is answered directly when asked again,
        # or nearly so (kept outside the index, so a matcher loaded from the cache gets it too).
        codes, names = codes_and_names(self.indicators)
        self._listing = list(zip(codes, names, strict=True))
        docs = {code: doc for doc, code in enumerate(codes)}
        self._exact = {
            key: docs[code] for key, code in exact_answers(learned or {}).items() if code in docs
        }
        self._recall = Recall(
            self.index,
            self.config.shares,
            self.config.related_share,
            self.config.unknown_idf_share,
        )
        self._codes = {code.lower().translate(_CODE_SEPARATORS): n for n, code in enumerate(codes)}
        self._by_code = {code.upper(): n for n, code in enumerate(codes)}
        self._title_phons = [t.phon for t in self.index.titles]
        self._question_phons = [t.phon for t in self.index.questions]
        self._titles_by_doc = self._by_doc(self.index.titles)
        self._questions_by_doc = self._by_doc(self.index.questions)

    def indicator(self, code: str) -> Indicator | None:
        """The indicator with this code (case-insensitive), if the matcher holds it."""
        doc = self._by_code.get(code.strip().upper())
        return None if doc is None else self.indicators[doc]

    @staticmethod
    def _by_doc(titles: list[Title]) -> dict[int, list[int]]:
        by_doc: dict[int, list[int]] = {}
        for k, title in enumerate(titles):
            by_doc.setdefault(title.doc, []).append(k)
        return by_doc

    @staticmethod
    def _best(scores: NDArray[np.float64], pool: int) -> list[int]:
        """The ``pool`` indicators of highest positive score (in no particular order)."""
        pool = min(pool, len(scores))
        if pool <= 0:
            return []
        top = np.argpartition(-scores, pool - 1)[:pool] if pool < len(scores) else np.arange(pool)
        return [int(d) for d in top if scores[d] > 0]

    # ------------------------------------------------------------ precision

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
        titles: tuple[list[Title], list[str], dict[int, list[int]]],
    ) -> dict[int, float]:
        texts, phons, by_doc = titles
        keys = [k for doc in candidates for k in by_doc.get(doc, ())]
        if not keys or not core:
            return {}
        best: dict[int, float] = {}
        for query, pool, factor in (
            (core, {k: texts[k].text for k in keys}, 1.0),
            (core_phon, {k: phons[k] for k in keys}, 0.96),
        ):
            for _text, raw, key in process.extract(
                query,
                pool,
                scorer=fuzz.partial_ratio,
                processor=None,
                limit=None,
                score_cutoff=max(40.0, self.config.partial_floor),
            ):
                doc = texts[key].doc
                score = self._similarity(core, texts[key].text, raw) * factor
                if score > best.get(doc, 0.0):
                    best[doc] = score
        return best

    # ------------------------------------------------------------ scoring

    def _rewrite(self, parts: list[str]) -> list[str]:
        """Add the official term after every everyday word of the office synonym table."""
        core = "".join(parts)
        extra = [term for word, term in self.index.office if word in core]
        return parts + [p for term in extra for p in term.split()]

    def _domain(self, text: str, *, in_background: bool) -> float:
        """Mean log-odds of the question's character terms: rulebook text against office talk.

        ``in_background``: the question is itself one of the background questions (when
        calibrating), so its own occurrences are left out, as for a question never seen.
        """
        index = self.index
        terms = question_char_terms(text)
        if not terms:
            return 0.0
        own = 1 if in_background else 0
        size, background_size = index.size + 1, index.background_size + 1 - own
        total = 0.0
        for term in terms:
            number = index.terms.get(term)
            df = int(index.offsets[number + 1] - index.offsets[number]) if number is not None else 0
            seen = index.background.get(term, 0) - own if term in index.background else 0
            total += math.log((df + 0.5) / size) - math.log((seen + 0.5) / background_size)
        return total / len(terms)

    def _rank(self, text: str) -> Scored | _Ranking:
        """The question's candidates ranked, or the finished result when there is nothing to
        rank (empty, an indicator's code, no evidence)."""
        config = self.config
        simplified = to_simplified(text[: config.max_question_chars])
        parts = core_parts(simplified)
        core = "".join(parts)
        if not core or not self.indicators:
            return Scored(simplified, [])
        for match in _CODE_PATTERN.finditer(simplified):
            doc = self._codes.get(re.sub(r"[-_.]", "", match.group()))
            if doc is not None:
                return Scored(simplified, [(doc, 1000.0)], code_hit=True)
        evidence = self._recall.gather(self._rewrite(parts))
        if evidence.mass <= 0:
            return Scored(simplified, [])
        denominator = min(evidence.mass, config.mass_cap)
        recall = evidence.scores / denominator
        candidates = self._best(recall, config.pool)
        if not candidates:
            return Scored(simplified, [])
        best_bm25 = float(evidence.bm25.max())
        bm25 = np.zeros(len(recall))
        if best_bm25 > 0:
            # BM25 rescaled so its best indicator weighs as much as the best evidence does
            bm25 = evidence.bm25 * (float(recall.max()) / best_bm25)
            chosen = set(candidates)
            candidates += [d for d in self._best(bm25, config.bm25_pool) if d not in chosen]
        core_phon = phonetic(core)
        title_scores = self._fuzzy(
            core, core_phon, candidates, (self.index.titles, self._title_phons, self._titles_by_doc)
        )
        question_scores = self._fuzzy(
            core,
            core_phon,
            candidates,
            (self.index.questions, self._question_phons, self._questions_by_doc),
        )
        fuzzy = [
            max(title_scores.get(d, 0.0), question_scores.get(d, 0.0) * config.faq_weight) / 100
            for d in candidates
        ]
        docs = np.asarray(candidates)
        rows = with_curves(
            np.column_stack(
                [evidence.by_kind[:, docs].T / denominator, bm25[docs], np.asarray(fuzzy)]
            )
        )
        scores = rank_scores(rows, config.rank_weights)
        order = np.lexsort((docs, -scores))  # best first, ties by indicator
        return _Ranking(
            simplified, core, evidence, recall, docs[order].tolist(), rows[order], scores[order]
        )

    def ranking_rows(self, text: str) -> tuple[list[int], NDArray[np.float64]] | None:
        """A question's candidates, best first, with their rows of evidence
        (:mod:`knowledge.ranking`): what the ranking's weights are fitted on."""
        found = self._rank(text)
        return None if isinstance(found, Scored) else (found.docs, found.rows)

    def scored(self, text: str, *, in_background: bool = False) -> Scored:
        """Every candidate with its raw score (may exceed 100), best first, and the features."""
        found = self._rank(text)
        if isinstance(found, Scored):
            return found
        simplified, core = found.simplified, found.core
        ranked = [(d, float(s)) for d, s in zip(found.docs, found.scores, strict=True)]
        best_doc, best = ranked[0]
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        evidence, recall = found.evidence, found.recall
        features = Features(
            score=best / 100,
            margin=(best - runner_up) / 100,
            coverage=evidence.known / evidence.chars if evidence.chars else 0.0,
            evidence=math.log1p(float(evidence.scores[best_doc])),
            fuzzy=float(found.rows[0, FUZZY]),
            length=math.log(len(core)),
            spread=math.log(int(np.count_nonzero(recall >= 0.5 * recall[best_doc]))),
            domain=self._domain(simplified, in_background=in_background),
            points=asks_points(simplified),
            service=asks_service(simplified),
        )
        about_points = bool(features.points) or tells_situation(simplified) or asks_rule(simplified)
        return Scored(
            simplified,
            ranked,
            features,
            generic=only_cue_words(core)
            or names_service(simplified)
            or self._in_several_names(core, found.docs),
            about_points=about_points,
        )

    def _in_several_names(self, core: str, docs: Sequence[int]) -> bool:
        """Whether the question is found whole inside a name or alias of two or more of its
        best candidates, and is not itself one of their names: a piece of several names says
        which indicators, not which one ("12366"); a full name says which ("纳税人满意度",
        though 纳税人满意度调查整改 holds it too)."""
        texts = self.index.titles
        holding = 0
        for doc in docs[:_NAMES_CHECKED]:
            titles = [texts[k].text for k in self._titles_by_doc.get(doc, ())]
            if core in titles:
                return False
            holding += any(core in title for title in titles)
        return holding >= 2

    def score(self, text: str) -> tuple[str, list[tuple[int, float]]]:
        """The normalised question and every candidate with its raw score, best first."""
        result = self.scored(text)
        return result.normalized, result.ranked

    # ------------------------------------------------------------ decision

    def _candidate(self, doc: int, score: float) -> Candidate:
        code, name = self._listing[doc]
        # decisions use the calibrated probability; what is shown is a 0-100 confidence
        return Candidate(code, name, round(min(score, 100.0), 1))

    def match_question(self, text: str) -> MatchResult:
        """Answer, clarify (2-5 candidates) or none for one question."""
        key = question_key(text[: self.config.max_question_chars])
        learned_doc = learned_answer(key, self._exact)
        if learned_doc is not None:
            known = self._candidate(learned_doc, 100.0)
            return MatchResult(text, to_simplified(text), Outcome.ANSWER, (known,))
        return self.decide(text, self.scored(text), self.calibration)

    def decide(self, text: str, result: Scored, calibration: Calibration) -> MatchResult:
        """The decision for an already scored question under a given calibration.

        What the question asks weighs before any score (:mod:`knowledge.cues`): where, when or
        how to get something done is never in a rulebook of indicators, however many of its
        words the rulebook holds ("危化品经营许可证要准备哪些材料"), so it is not covered;
        what something does to the score, or a situation told without a question, is offered
        candidates from a lower threshold.
        """
        ranked = result.ranked
        if result.code_hit:
            return MatchResult(
                text, result.normalized, Outcome.ANSWER, (self._candidate(*ranked[0]),)
            )
        if not ranked or result.features is None:
            return MatchResult(text, result.normalized, Outcome.NONE, ())
        in_scope, right = calibration.probabilities(result.features)
        if (
            result.features.service
            or in_scope < calibration.clarify_at(result.about_points)
            # asked last and only here: the style model is read only for a question that
            # would otherwise be offered (:mod:`knowledge.style`)
            or calibration.off_topic(self.style.off_topic(result.normalized), result.about_points)
        ):
            return MatchResult(text, result.normalized, Outcome.NONE, ())
        best_doc, best = ranked[0]
        confidence = 100 * in_scope * right
        confident = in_scope * right >= calibration.answer_threshold or len(ranked) == 1
        if confident and not result.generic:
            return MatchResult(
                text, result.normalized, Outcome.ANSWER, (self._candidate(best_doc, confidence),)
            )
        floor = best - self.config.clarify_window
        shortlist = [(d, s) for d, s in ranked[:5] if s >= floor]
        if len(shortlist) < 2:
            shortlist = ranked[:2]
        scale = confidence / best if best > 0 else 0.0
        return MatchResult(
            text,
            result.normalized,
            Outcome.CLARIFY,
            tuple(self._candidate(d, s * scale) for d, s in shortlist),
        )
