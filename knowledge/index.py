"""The matcher's lexical index over one rulebook: built once, stored compactly, read-only.

Evidence kinds (a term's first letter says which):

* ``c`` character bigrams and ``p`` phonetic bigrams, so homophone typos (满义度) still hit;
* ``u`` content characters, for descriptions that share single characters but no pair;
* ``w`` words: the rulebook's own text cut by jieba, with its names, aliases and office terms
  added to the dictionary so they stay whole;
* ``s`` synonym groups of 同义词词林 (:mod:`knowledge.thesaurus`): a word in a question and a word
  in the rulebook meet when they are true synonyms (耽搁 / 拖延).

Next to the terms, ``related`` maps everyday words to the rulebook words closest in meaning
(打针 → 输液, :mod:`knowledge.related`): the matcher counts those words' postings as weaker
evidence; they are not terms of their own.

Every field of an indicator counts (name and aliases most, then FAQ questions, the standard,
the three interpretations and FAQ answers), except text the indicator explicitly excludes
("而不是纳税人投诉", "……除外"): that text describes another indicator and must not speak for
this one.

Learned phrasings (questions staff asked, tied to an indicator by use or by the office) are
not terms of the index: they are only compared whole, by fuzzy similarity, like FAQ
questions. As terms they made new questions worse: staff's everyday words are rare in a
rulebook's formal text, so their IDF is high, and one attached chatty question pulled the
next chatty question about another indicator to its own. Measured on the 33 labelled
rulebooks, one month of questions attached and the next month asked (each rulebook held out
of the word associations and the style model): paraphrases ranked first fell from 73.0% to
69.5% with learned phrasings as terms (71.6% even at a tenth of the FAQ's weight, since BM25
counts every term whatever its field weight), and rose to 73.5% without
(``benchmarks/bench_learning.py``, ``docs/benchmarks.md``). A question asked again, or
nearly so, is answered directly (:func:`knowledge.learned.learned_answer`); the phrasings are
also the calibration's positives.

Next to each posting's evidence weight the index keeps its BM25 term-frequency part
(k1 = 1.5, b = 0.75) over the word and content-character terms of every field but the
category, so the matcher can add a plain BM25 ranking over the same terms: it errs on other
questions than the weighted evidence does.

Postings are kept as one CSR block of NumPy arrays (term → slice of doc ids and weights), so
the index of 5,000 indicators is a few tens of MB and can be saved and memory-loaded whole.
"""

from __future__ import annotations

import math
import re
import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from numpy.typing import NDArray

from knowledge.associations import PER_WORD as ASSOCIATIONS_PER_WORD
from knowledge.associations import shipped_table
from knowledge.related import parse, related_words
from knowledge.rulebook import Indicator
from knowledge.synonyms import OfficeSynonym
from knowledge.text import bigrams, phonetic, segments, strip_fillers, to_simplified
from knowledge.thesaurus import synonym_groups

if TYPE_CHECKING:
    import jieba

FIELD_WEIGHTS: Mapping[str, float] = {
    "name": 1.0,
    "alias": 1.0,
    "faq_q": 0.7,
    "category": 0.45,
    "standard": 1.0,
    "interpretation": 0.8,
    "faq_a": 0.7,
}
TITLE_FIELDS = ("name", "alias")
QUESTION_FIELDS = ("faq_q",)
# Function characters carry no content on their own; every other Han character does.
STOP_CHARS = frozenset(
    "的了是在和与或及等也就都而被把对从以为于其之这那有个吗呢吧啊么什怎如何哪谁几多少要会能可请问我你他她它们该此得地着过"
)
_EXCLUSION = re.compile(
    r"(?:而不是|而非|不包括|不包含|不含|不属于|不计入|不纳入|不适用于?)[^。；;！!？?\n]*"
    r"|[^。；;，,、！!？?\n]*除外"
)
_MAX_WORD = 6
BM25_KINDS = "wu"  # the terms BM25 counts: words and content characters
BM25_K1 = 1.5
BM25_B = 0.75
_jieba_lock = threading.Lock()
_base_tokenizer: jieba.Tokenizer | None = None

Term = str


def without_exclusions(text: str) -> str:
    """The text minus what it says is *not* covered (that describes another indicator)."""
    return _EXCLUSION.sub("。", text)


def core_parts(text: str) -> list[str]:
    """Simplified, greetings stripped, split into runs of Han characters, digits and letters."""
    return segments(strip_fillers(to_simplified(text)))


def char_terms(part: str) -> tuple[list[Term], list[Term], list[Term]]:
    """The character bigram, phonetic bigram and content character terms of one segment."""
    chars = ["c" + g for g in bigrams(part)]
    phons = ["p" + g for g in bigrams(phonetic(part))]
    content = ["u" + ch for ch in part if ch >= "\u3400" and ch not in STOP_CHARS]
    return chars, phons, content


def question_char_terms(text: str) -> set[Term]:
    """The distinct character bigram and content character terms of a whole text."""
    found: set[Term] = set()
    for part in core_parts(text):
        chars, _phons, content = char_terms(part)
        found.update(chars)
        found.update(content)
    return found


def _tokenizer(words: Iterable[str]) -> jieba.Tokenizer:
    """A jieba tokenizer of its own: the shared base dictionary plus this rulebook's terms.

    jieba is imported here, not with the module: only building an index cuts text into words
    (a loaded index looks question words up in its lexicon), and importing jieba costs a
    tenth of a second of every process that merely answers questions.
    """
    global _base_tokenizer
    import jieba

    with _jieba_lock:
        if _base_tokenizer is None:
            jieba.setLogLevel(60)  # its start-up chatter is not ours to print
            _base_tokenizer = jieba.Tokenizer()
            _base_tokenizer.initialize()
        base = _base_tokenizer
    tokenizer = jieba.Tokenizer()
    # Copying the loaded dictionary costs milliseconds; loading it again costs seconds.
    tokenizer.FREQ = dict(base.FREQ)
    tokenizer.total = base.total
    tokenizer.initialized = True
    for word in words:
        if len(word) >= 2:
            tokenizer.add_word(word)
    return tokenizer


class Title(NamedTuple):
    """A short text of an indicator compared by edit distance: name, alias or question.

    A named tuple, not a dataclass: a loaded index of 5,000 indicators makes 20,000 of them,
    and a tuple is made several times faster.
    """

    doc: int
    text: str
    phon: str  # its phonetic key, kept so a loaded index needs no pinyin look-ups


@dataclass
class LexicalIndex:
    """Everything the matcher reads at question time; plain arrays and dicts, no tokenizer."""

    size: int
    terms: Mapping[Term, int]  # a dict when built, a TermTable when loaded
    offsets: NDArray[np.int64]
    docs: NDArray[np.int32]
    weights: NDArray[np.float32]
    # BM25's term-frequency part of the postings of the terms BM25 counts, which are numbered
    # first (terms 0 .. bm25_terms - 1): aligned with the start of ``docs``
    bm25: NDArray[np.float16]
    bm25_terms: int
    idf: NDArray[np.float32]
    lexicon: dict[str, str]  # word → its space-separated terms (compact to store and load)
    # everyday word → rulebook words close in meaning, with cosines (:mod:`knowledge.related`)
    related: dict[str, str]
    titles: list[Title]
    questions: list[Title]
    office: list[tuple[str, str]]
    # Character terms of everyday office talk: how many questions of the out-of-scope bank
    # hold each, so a question can be weighed as more like the rulebook or more like chatter.
    background: dict[Term, int]
    background_size: int

    @property
    def max_idf(self) -> float:
        """The IDF of a term no indicator holds."""
        return math.log(1 + (self.size + 0.5) / 1.5)

    def span(self, term: Term) -> tuple[int, int, int] | None:
        """A term's number and where its postings lie in ``docs`` and ``weights`` (and in
        ``bm25`` when the number is below ``bm25_terms``); None if no indicator holds it."""
        number = self.terms.get(term)
        if number is None:
            return None
        return number, self.offsets[number], self.offsets[number + 1]

    def posting(self, term: Term) -> tuple[NDArray[np.int32], NDArray[np.float32], float] | None:
        """The documents holding a term, their weights, and the term's IDF."""
        found = self.span(term)
        if found is None:
            return None
        number, start, end = found
        return self.docs[start:end], self.weights[start:end], float(self.idf[number])

    def bm25_posting(self, term: Term) -> NDArray[np.float16] | None:
        """BM25's term-frequency part for :meth:`posting`'s documents, if BM25 counts the term."""
        found = self.span(term)
        if found is None or found[0] >= self.bm25_terms:
            return None
        return self.bm25[found[1] : found[2]]


def _fields(indicator: Indicator) -> list[tuple[str, str]]:
    fields: list[tuple[str, str]] = [("name", indicator.name)]
    fields += [("alias", a) for a in indicator.aliases]
    fields += [("faq_q", f.q) for f in indicator.faq]
    fields += [("faq_a", f.a) for f in indicator.faq]
    fields += [("category", indicator.category), ("standard", indicator.standard)]
    fields += [("interpretation", i.text) for i in indicator.interpretations]
    return [(field, text) for field, text in fields if text]


def _field_terms(
    raw: str, tokenizer: jieba.Tokenizer, groups: Mapping[str, tuple[int, ...]]
) -> tuple[dict[Term, int], set[str]]:
    counts: dict[Term, int] = defaultdict(int)
    words_seen: set[str] = set()
    for part in core_parts(without_exclusions(raw)):
        chars, phons, content = char_terms(part)
        # Full mode: every dictionary word inside the text, as the question side looks for
        # every rulebook word inside the question, whatever either segmentation would be.
        words = [w for w in tokenizer.cut(part, cut_all=True) if 2 <= len(w) <= _MAX_WORD]
        words_seen.update(words)
        synonyms = [f"s{g}" for w in words for g in groups.get(w, ())]
        for term in (*chars, *phons, *content, *("w" + w for w in words), *synonyms):
            counts[term] += 1
    return counts, words_seen


def _lexicon(
    words: set[str], terms: Mapping[Term, int], groups: Mapping[str, tuple[int, ...]]
) -> dict[str, str]:
    """Question words worth looking for: the rulebook's words and their thesaurus synonyms."""
    lexicon: dict[str, set[Term]] = defaultdict(set)
    for word in words:
        lexicon[word].add("w" + word)
    for word, ids in groups.items():
        for g in ids:
            if f"s{g}" in terms:
                lexicon[word].add(f"s{g}")
    return {w: " ".join(sorted(t)) for w, t in lexicon.items()}


@dataclass(frozen=True)
class _FieldTerms:
    ids: NDArray[np.int32]
    saturated: NDArray[np.float32]  # tf / (tf + 0.5): repetition helps a little
    counts: NDArray[np.float32]  # raw tf, for BM25
    words: frozenset[str]
    compacted: str


def _related(
    words: set[str],
    lexicon: Mapping[str, str],
    present: Mapping[Term, int],
    excluded: tuple[str, ...],
) -> dict[str, str]:
    """Everyday words the rulebook lacks → rulebook words: close in meaning by word vectors
    (:mod:`knowledge.related`), then learned from other bureaus' questions at full strength
    (:mod:`knowledge.associations`). A word the rulebook or its thesaurus holds needs no
    stand-in: not kept."""
    related = {w: near for w, near in related_words(words).items() if w not in lexicon}
    for word, targets in shipped_table(excluded).items():
        if word in lexicon:
            continue
        entry = related.get(word, "")
        known = {near for near, _ in parse(entry)} if entry else set()
        extra = [f"{t} 1.00" for t in targets if "w" + t in present and t not in known]
        del extra[ASSOCIATIONS_PER_WORD:]  # one vague word reaches a few words
        if extra:
            related[word] = " ".join([entry, *extra]) if entry else " ".join(extra)
    return related


class IndexBuilder:
    """Builds indexes of one rulebook; remembers each field's terms, so the calibration's
    variants (the rulebook minus some phrasings) cost only the assembly, which is NumPy."""

    def __init__(
        self,
        indicators: Sequence[Indicator],
        synonyms: Sequence[OfficeSynonym],
        association_excluded: tuple[str, ...] = (),
    ) -> None:
        self.synonyms = tuple(synonyms)
        # labelled rulebooks whose questions the learned associations leave out
        self.association_excluded = association_excluded
        self._groups = synonym_groups()
        office_terms = [to_simplified(s.term) for s in synonyms]
        names = [to_simplified(t) for i in indicators for t in (i.name, *i.aliases)]
        self._tokenizer = _tokenizer([*names, *office_terms])
        self._fields: dict[str, _FieldTerms] = {}
        self._term_ids: dict[Term, int] = {}

    def _bm25_terms(self, count: int) -> NDArray[np.bool_]:
        counted = np.zeros(count, dtype=bool)
        for term, number in self._term_ids.items():
            counted[number] = term[0] in BM25_KINDS
        return counted

    def _terms(self, raw: str) -> _FieldTerms:
        found = self._fields.get(raw)
        if found is None:
            counts, words = _field_terms(raw, self._tokenizer, self._groups)
            ids = [self._term_ids.setdefault(term, len(self._term_ids)) for term in counts]
            tf = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
            found = self._fields[raw] = _FieldTerms(
                np.asarray(ids, dtype=np.int32),
                tf / (tf + 0.5),
                tf,
                frozenset(words),
                "".join(core_parts(raw)),
            )
        return found

    def build(
        self,
        indicators: Sequence[Indicator],
        learned: Mapping[str, Sequence[str]] | None = None,
        background: Sequence[str] = (),
    ) -> LexicalIndex:
        """Index the indicators (plus learned phrasings per code) next to background talk."""
        learned = learned or {}
        doc_parts: list[NDArray[np.int32]] = []
        term_parts: list[NDArray[np.int32]] = []
        weight_parts: list[NDArray[np.float32]] = []
        tf_parts: list[NDArray[np.float32]] = []
        words: set[str] = set()
        titles: list[Title] = []
        questions: list[Title] = []
        for doc, indicator in enumerate(indicators):
            ids: list[NDArray[np.int32]] = []
            weights: list[NDArray[np.float32]] = []
            frequencies: list[NDArray[np.float32]] = []
            for raw in learned.get(indicator.code, ()):  # compared whole only: see above
                if compacted := "".join(core_parts(raw)):
                    questions.append(Title(doc, compacted, phonetic(compacted)))
            for field, raw in _fields(indicator):
                terms = self._terms(raw)
                words |= terms.words
                ids.append(terms.ids)
                weights.append(terms.saturated * np.float32(FIELD_WEIGHTS[field]))
                # BM25 reads the indicator's text, not the category it is filed under
                counted = terms.counts if field != "category" else np.zeros_like(terms.counts)
                frequencies.append(counted)
                if terms.compacted and field in TITLE_FIELDS:
                    titles.append(Title(doc, terms.compacted, phonetic(terms.compacted)))
                elif terms.compacted and field in QUESTION_FIELDS:
                    questions.append(Title(doc, terms.compacted, phonetic(terms.compacted)))
            if not ids:
                continue
            all_ids, all_weights = np.concatenate(ids), np.concatenate(weights)
            # a term found in several fields speaks for the indicator with its best weight
            order = np.lexsort((-all_weights, all_ids))
            sorted_ids = all_ids[order]
            first = np.ones(len(sorted_ids), dtype=bool)
            first[1:] = sorted_ids[1:] != sorted_ids[:-1]
            term_parts.append(sorted_ids[first])
            weight_parts.append(all_weights[order][first])
            # while BM25 counts it as often as the indicator's text holds it
            frequency = np.concatenate(frequencies)[order]
            tf_parts.append(np.add.reduceat(frequency, np.flatnonzero(first)))
            doc_parts.append(np.full(int(first.sum()), doc, dtype=np.int32))
        index = self._assemble(
            len(indicators),
            (doc_parts, term_parts, weight_parts, tf_parts),
            words,
            titles,
            questions,
        )
        counts: dict[Term, int] = defaultdict(int)
        for text in background:
            for term in question_char_terms(text):
                counts[term] += 1
        index.background = dict(counts)
        index.background_size = len(background)
        return index

    def _assemble(
        self,
        size: int,
        parts: tuple[
            list[NDArray[np.int32]],
            list[NDArray[np.int32]],
            list[NDArray[np.float32]],
            list[NDArray[np.float32]],
        ],
        words: set[str],
        titles: list[Title],
        questions: list[Title],
    ) -> LexicalIndex:
        doc_parts, term_parts, weight_parts, tf_parts = parts
        count = len(self._term_ids)
        empty_i, empty_f = np.zeros(0, np.int32), np.zeros(0, np.float32)
        docs = np.concatenate(doc_parts) if doc_parts else empty_i
        term_of = np.concatenate(term_parts) if term_parts else empty_i
        weights = np.concatenate(weight_parts) if weight_parts else empty_f
        counted = self._bm25_terms(count)
        frequencies = np.concatenate(tf_parts) if tf_parts else empty_f
        bm25 = _bm25_tf(frequencies, docs, counted[term_of], size)
        # BM25's terms numbered first, so its weights are kept for their postings alone
        bm25_terms = int(counted.sum())
        number = np.empty(count, dtype=np.int32)
        number[counted] = np.arange(bm25_terms, dtype=np.int32)
        number[~counted] = np.arange(bm25_terms, count, dtype=np.int32)
        term_of = number[term_of]
        order = np.argsort(term_of, kind="stable")  # by term, documents in order within
        df = np.bincount(term_of, minlength=count)
        offsets = np.zeros(count + 1, dtype=np.int64)
        np.cumsum(df, out=offsets[1:])
        n = max(size, 1)
        idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
        present = {term: int(number[k]) for term, k in self._term_ids.items() if df[number[k]] > 0}
        office = [
            ("".join(core_parts(s.word)), " ".join(core_parts(s.term))) for s in self.synonyms
        ]
        lexicon = _lexicon(words, present, self._groups)
        return LexicalIndex(
            size=size,
            terms=present,
            offsets=offsets,
            docs=docs[order],
            weights=weights[order],
            bm25=bm25[order][: offsets[bm25_terms]].astype(np.float16),
            bm25_terms=bm25_terms,
            idf=idf,
            lexicon=lexicon,
            related=_related(words, lexicon, present, self.association_excluded),
            titles=titles,
            questions=questions,
            office=[(w, t) for w, t in office if w and t],
            background={},
            background_size=0,
        )


def _bm25_tf(
    tf: NDArray[np.float32], docs: NDArray[np.int32], counted: NDArray[np.bool_], size: int
) -> NDArray[np.float32]:
    """BM25's term-frequency part of each posting, 0 for the terms BM25 does not count."""
    tf = np.where(counted, tf, np.float32(0)).astype(np.float32)
    lengths = np.bincount(docs, tf, minlength=size)
    mean = float(lengths.mean()) if size else 0.0
    norm = BM25_K1 * (1 - BM25_B + BM25_B * lengths / mean) if mean > 0 else np.ones(size)
    return (tf * (BM25_K1 + 1) / (tf + norm[docs])).astype(np.float32)


def build_index(
    indicators: Sequence[Indicator],
    *,
    synonyms: Sequence[OfficeSynonym] = (),
    learned: Mapping[str, Sequence[str]] | None = None,
    background: Sequence[str] = (),
    association_excluded: tuple[str, ...] = (),
) -> LexicalIndex:
    """Index a rulebook's indicators (plus office synonyms and learned phrasings)."""
    builder = IndexBuilder(indicators, synonyms, association_excluded)
    return builder.build(indicators, learned, background)
