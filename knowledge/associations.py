"""Everyday words → rulebook words, learned from other bureaus' labelled questions.

Staff of every bureau tell the same kinds of situation in the same everyday words: a 记者 or
an 电视台 for 媒体曝光, a 卷宗 for 案卷, a 锦旗 for 表扬, 凑数 for 弄虚作假. The thesaurus and the
word vectors (:mod:`knowledge.related`) know general Chinese; these pairs are what labelled
questions of appraisal rulebooks teach about the office's own language.

``knowledge/data/associations.tsv`` holds, per source (a labelled rulebook), how many of its
paraphrase questions hold each word, and how many hold a word while the indicator they ask
about has a given word in its name or aliases. ``scripts/build_associations.py`` counts them
from the labelled sets. A pair is used when the name word follows the question word in at
least a fifth of the questions holding it (:data:`MIN_SHARE`): the matcher then adds that
rulebook word as a related word of full strength (see :class:`knowledge.recall.Recall`), at
most :data:`PER_WORD` of them, strongest share first.

The share was a half, set a priori, until session 19; a fifth was then chosen by a nested
leave-one-rulebook-out: for each held-out rulebook, the share (of 0.5, 0.3, 0.2 and 0.1) whose
leave-one-out objective summed over the *other* rulebooks is best. All 33 folds chose 0.2.
The number of rulebook words one everyday word may stand for was then chosen the same way
(of 3, 5, 8, 12 and 20, the share at 0.2): 32 folds chose 8, culture and tourism chose 12.

Counts are kept per source so a measurement can leave a rulebook's own questions out
(``MatcherConfig.association_excluded``): a rulebook is never helped by its own questions.
Written by hand: counting co-occurrences is a few lines, and no library keeps such counts
per source.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "associations.tsv"
MIN_SHARE = 0.2  # of the questions holding the everyday word, at least this share point there
PER_WORD = 8  # rulebook words one everyday word may stand for
_NOT_HAN = re.compile(r"[^\u4e00-\u9fff]+")


@dataclass(frozen=True)
class Example:
    """A labelled question and the names and aliases of the indicators it asks about."""

    source: str
    question: str
    titles: tuple[str, ...]


def _kept(together: int, alone: int) -> bool:
    """Whether a pair seen in ``together`` of the ``alone`` questions holding its word is used."""
    return together > 0 and together >= MIN_SHARE * alone


@dataclass
class Counts:
    """Per source: questions holding a word, and holding it with a name word of their answer."""

    sources: list[str]
    words: dict[str, Counter[int]]
    pairs: dict[tuple[str, str], Counter[int]]

    def table(self, excluding: Sequence[str] = ()) -> dict[str, tuple[str, ...]]:
        """Everyday word → the name words it points to, strongest first, leaving ``excluding``
        sources out."""
        left_out = {n for n, s in enumerate(self.sources) if s in excluding}

        def total(counter: Counter[int]) -> int:
            return sum(c for n, c in counter.items() if n not in left_out)

        found: dict[str, list[tuple[float, int, str]]] = defaultdict(list)
        for (word, target), counter in self.pairs.items():
            together = total(counter)
            alone = total(self.words[word])
            if _kept(together, alone):
                found[word].append((-together / alone, -together, target))
        # strongest first: the share, then how many questions show it
        return {word: tuple(t for *_, t in sorted(targets)) for word, targets in found.items()}

    def usable(self) -> Counts:
        """Only the pairs used with no source left out or with any one left out (the
        leave-one-rulebook-out measurement), and the words they need: what is shipped."""
        pairs: dict[tuple[str, str], Counter[int]] = {}
        for (word, target), counter in self.pairs.items():
            seen = self.words[word]
            together, alone = sum(counter.values()), sum(seen.values())
            if any(
                _kept(together - counter[n], alone - seen[n])
                for n in (-1, *seen)  # -1: no source left out
            ):
                pairs[(word, target)] = counter
        words = {word: self.words[word] for word, _ in pairs}
        return Counts(self.sources, words, pairs)


def _words(text: str) -> set[str]:
    import jieba  # only the counting script and tests cut text here, never an answer

    jieba.setLogLevel(60)
    return {w for w in jieba.lcut(_NOT_HAN.sub("", text)) if len(w) >= 2}


def count(examples: Iterable[Example]) -> Counts:
    """Count the examples' words and (question word, name word) pairs per source."""
    sources: list[str] = []
    number: dict[str, int] = {}
    words: dict[str, Counter[int]] = defaultdict(Counter)
    pairs: dict[tuple[str, str], Counter[int]] = defaultdict(Counter)
    for example in examples:
        source = number.setdefault(example.source, len(number))
        if source == len(sources):
            sources.append(example.source)
        named = set().union(*(_words(t) for t in example.titles))
        for word in _words(example.question):
            words[word][source] += 1
            if word not in named:
                for target in named:
                    pairs[(word, target)][source] += 1
    return Counts(sources, dict(words), dict(pairs))


def _cells(counter: Counter[int]) -> str:
    return ",".join(f"{n}:{c}" for n, c in sorted(counter.items()))


def _counter(cells: str) -> Counter[int]:
    return Counter({int(n): int(c) for n, c in (cell.split(":") for cell in cells.split(","))})


def write(counts: Counts, path: Path = DATA) -> None:
    """Save counts as text: one line per word and per pair, cells ``source:count``."""
    lines = ["# kpibot associations: see knowledge/associations.py"]
    lines += ["s\t" + "\t".join(counts.sources)]
    lines += [f"w\t{w}\t{_cells(c)}" for w, c in sorted(counts.words.items())]
    lines += [f"p\t{w}\t{t}\t{_cells(c)}" for (w, t), c in sorted(counts.pairs.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def read(path: Path = DATA) -> Counts:
    """Counts saved by :func:`write`."""
    sources: list[str] = []
    words: dict[str, Counter[int]] = {}
    pairs: dict[tuple[str, str], Counter[int]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = line.split("\t")
        if cells[0] == "s":
            sources = cells[1:]
        elif cells[0] == "w":
            words[cells[1]] = _counter(cells[2])
        elif cells[0] == "p":
            pairs[(cells[1], cells[2])] = _counter(cells[3])
    return Counts(sources, words, pairs)


@lru_cache(maxsize=32)
def shipped_table(excluding: tuple[str, ...] = ()) -> dict[str, tuple[str, ...]]:
    """The shipped counts' table (see :meth:`Counts.table`), once per exclusion; the counts
    themselves are not kept in memory. The file keeps only the pairs used with at most one
    source left out (:meth:`Counts.usable`), which is what measurements leave out."""
    return read(DATA).table(excluding)
