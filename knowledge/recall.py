"""Recall: the lexical evidence a question finds in a rulebook's index.

Every term of the question (character and phonetic bigrams, content characters, the
rulebook's words inside it and their thesaurus synonyms, see :mod:`knowledge.index`) adds its
postings weighted by IDF and its kind's share; an everyday word the rulebook lacks adds the
postings of the rulebook words close to it (:mod:`knowledge.related`), weaker and without
adding to the question's mass. Sums are kept per kind of evidence, for the ranking's fitted
mix (:mod:`knowledge.ranking`), and BM25's part separately.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from knowledge.index import LexicalIndex, char_terms
from knowledge.ranking import EVIDENCE_KINDS
from knowledge.related import parse

_KIND_NUMBER = {kind: n for n, kind in enumerate(EVIDENCE_KINDS)}
_RELATED = _KIND_NUMBER["v"]


@dataclass
class Evidence:
    """What a question's terms found: per-indicator sums, and what they were made of."""

    scores: NDArray[np.float64]
    mass: float = 0.0
    known: float = 0.0
    chars: float = 0.0
    seen: set[str] = field(default_factory=set)
    bm25: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    # per term found: its postings' documents and weights, and what the weights are scaled by
    ids: list[NDArray[np.int32]] = field(default_factory=list)
    weights: list[NDArray[np.float32]] = field(default_factory=list)
    factors: list[float] = field(default_factory=list)
    bm25_ids: list[NDArray[np.int32]] = field(default_factory=list)
    bm25_weights: list[NDArray[np.float16]] = field(default_factory=list)
    bm25_factors: list[float] = field(default_factory=list)
    kinds: list[int] = field(default_factory=list)  # per term found: its kind's number
    by_kind: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))


class Recall:
    """Gathers a question's evidence from one index; read-only, shared by every question."""

    def __init__(
        self,
        index: LexicalIndex,
        shares: Sequence[tuple[str, float]],
        related_share: float,
        unknown_idf_share: float,
    ) -> None:
        self.index = index
        self.shares = dict(shares)
        self.related_share = related_share
        # a term the rulebook lacks counts towards the question's mass at this share of the
        # highest IDF: the question says something the rulebook does not explain
        self.unknown_idf_share = unknown_idf_share

    def _add(self, evidence: Evidence, term: str, share: float) -> None:
        if term in evidence.seen:  # a term repeated in the question counts once
            return
        evidence.seen.add(term)
        index = self.index
        found = index.span(term)
        kind = term[0]
        if found is None:
            if kind in "cpu":  # words are only looked for where the rulebook has them
                unknown = share * index.max_idf * self.unknown_idf_share
                evidence.mass += unknown
                evidence.chars += unknown if kind != "p" else 0.0
            return
        idf = float(index.idf[found[0]])
        weight = idf * share
        evidence.mass += weight
        if kind in "cu":
            evidence.known += weight
            evidence.chars += weight
        self._postings(evidence, found, weight, idf, _KIND_NUMBER[kind])

    def _postings(
        self,
        evidence: Evidence,
        found: tuple[int, int, int],
        factor: float,
        bm25_factor: float,
        kind: int,
    ) -> None:
        """A found term's postings into the evidence, scaled by ``factor`` (and by
        ``bm25_factor`` for BM25's part, when BM25 counts the term)."""
        index = self.index
        number, start, end = found
        ids = index.docs[start:end]
        evidence.ids.append(ids)
        evidence.weights.append(index.weights[start:end])
        evidence.factors.append(factor)
        evidence.kinds.append(kind)
        if number < index.bm25_terms:  # BM25 terms are numbered first
            evidence.bm25_ids.append(ids)
            evidence.bm25_weights.append(index.bm25[start:end])
            evidence.bm25_factors.append(bm25_factor)

    def _words(self, part: str) -> tuple[list[str], list[str]]:
        """Every rulebook word or synonym inside a segment, whatever the segmentation, and
        every everyday word that has related rulebook words (:mod:`knowledge.related`)."""
        lexicon, related = self.index.lexicon, self.index.related
        found: list[str] = []
        near: list[str] = []
        for start in range(len(part) - 1):
            for end in range(start + 2, min(len(part), start + 6) + 1):
                word = part[start:end]
                terms = lexicon.get(word)
                if terms:
                    found += terms.split(" ")
                    continue
                entry = related.get(word)
                if entry:
                    near.append(entry)
        return found, near

    def _add_related(self, evidence: Evidence, entry: str) -> None:
        """The rulebook words a question word is close to, as evidence weighted by their
        cosine. They add nothing to the question's mass: the word itself is counted there
        already, by its characters; this only says where it may point."""
        for word, cosine in parse(entry):
            term = "w" + word
            if term in evidence.seen:
                continue
            evidence.seen.add(term)
            found = self.index.span(term)
            if found is None:
                continue
            factor = float(self.index.idf[found[0]]) * self.related_share * cosine
            self._postings(evidence, found, factor, factor, _RELATED)

    def gather(self, parts: list[str]) -> Evidence:
        """The evidence of a question's segments (after the office synonym rewrite)."""
        shares = self.shares
        evidence = Evidence(np.zeros(0))
        near: list[str] = []
        for part in parts:
            chars, phons, content = char_terms(part)
            words, related = self._words(part)
            near += related
            for term in (*chars, *phons, *content, *words):
                self._add(evidence, term, shares[term[0]])
        if self.related_share > 0:
            for entry in near:  # after every word the question holds itself
                self._add_related(evidence, entry)
        size = self.index.size
        kinds = len(EVIDENCE_KINDS)
        # one pass: each kind's postings land in a block of its own
        evidence.by_kind = self._sum(
            evidence.ids, evidence.weights, evidence.factors, size, blocks=evidence.kinds
        ).reshape(kinds, size)
        evidence.scores = evidence.by_kind.sum(axis=0)
        evidence.bm25 = self._sum(
            evidence.bm25_ids, evidence.bm25_weights, evidence.bm25_factors, size
        )
        return evidence

    @staticmethod
    def _sum(
        ids: list[NDArray[np.int32]],
        weights: Sequence[NDArray[np.floating[Any]]],
        factors: list[float],
        size: int,
        blocks: list[int] | None = None,
    ) -> NDArray[np.float64]:
        """Every document's sum of its postings' weights times their term's factor; with
        ``blocks`` (one per term), each block's sums apart: ``size`` entries per block.

        One pass over all postings: far cheaper than a scatter-add per term when common
        characters are held by thousands of indicators.
        """
        length = size * (len(EVIDENCE_KINDS) if blocks is not None else 1)
        if not ids:
            return np.zeros(length)
        lengths = np.fromiter((len(i) for i in ids), dtype=np.int64, count=len(ids))
        scaled = np.concatenate(weights) * np.repeat(np.asarray(factors), lengths)
        docs = np.concatenate(ids).astype(np.int64)
        if blocks is not None:
            docs += np.repeat(np.asarray(blocks, dtype=np.int64) * size, lengths)
        return np.bincount(docs, scaled, minlength=length).astype(np.float64)
