"""The file of a prepared matcher: its index, calibration and indicators, mapped, not parsed.

Layout: an 8-byte magic, the length of a JSON header, the header (format, sizes, the
calibration, and where each section lies), then the sections, each 64-byte aligned:

* NumPy arrays (the CSR postings, IDF, term ids, title documents, background counts), read
  with ``np.frombuffer`` straight from a read-only memory map: no copy, and pages of postings
  no question touches are never read;
* lists of strings (terms, lexicon, titles, ...), each one UTF-8 block joined by newlines
  (none of them can hold one: they are cut from segments of Han characters, digits and
  letters), so a list costs one ``decode`` and one ``split``;
* the indicators, one JSON document each with its byte offsets, decoded from the map only
  when read (:class:`~knowledge.stored_indicators.StoredIndicators`).

At 5,000 indicators this loads in a few tens of milliseconds, against a fraction of a second
for the former ``.npz`` with a JSON block, and the postings are shared by every process that
maps the file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import mmap
import os
import struct
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, overload

import numpy as np
from numpy.typing import NDArray

from knowledge.calibration import Calibration
from knowledge.index import LexicalIndex, Title
from knowledge.matcher import Matcher, MatcherConfig
from knowledge.stored_indicators import StoredIndicators, codes_and_names, indicator_json
from knowledge.term_table import TermTable

# 4: two cue features in the calibration; 5: service negatives; 6: BM25; 7: a clarify
# threshold for questions about points; 8: words related by word vectors; 9: fitted ranking;
# 12: the terms as a trie (knowledge.term_table); 13: learned phrasings compared whole only
FORMAT_VERSION = 13
MAGIC = b"KPIBOTMX"
_LENGTH = struct.Struct("<Q")
_ALIGN = 64
_SEPARATOR = "\n"


def _texts(index: LexicalIndex) -> dict[str, Sequence[str]]:
    return {
        "lexicon_words": list(index.lexicon),
        "lexicon_terms": list(index.lexicon.values()),
        "related_words": list(index.related),
        "related_terms": list(index.related.values()),
        "title_texts": [t.text for t in index.titles],
        "title_phons": [t.phon for t in index.titles],
        "question_texts": [t.text for t in index.questions],
        "question_phons": [t.phon for t in index.questions],
        "office_words": [word for word, _term in index.office],
        "office_terms": [term for _word, term in index.office],
        "background_terms": list(index.background),
    }


def _arrays(index: LexicalIndex, matcher: Matcher) -> dict[str, NDArray[Any]]:
    terms = index.terms if isinstance(index.terms, TermTable) else TermTable.of(index.terms)
    lines = [indicator_json(i).encode("utf-8") for i in matcher.indicators]
    ends = np.cumsum([len(line) for line in lines], dtype="<i8")
    return {
        "indicator_bytes": np.frombuffer(b"".join(lines), dtype="|u1"),
        "indicator_offsets": np.concatenate([np.zeros(1, dtype="<i8"), ends]),
        "offsets": np.asarray(index.offsets, dtype="<i8"),
        "docs": np.asarray(index.docs, dtype="<i4"),
        "weights": np.asarray(index.weights, dtype="<f4"),
        "bm25": np.asarray(index.bm25, dtype="<f2"),
        "idf": np.asarray(index.idf, dtype="<f4"),
        "term_trie": np.frombuffer(terms.to_bytes(), dtype="|u1"),
        "term_numbers": np.asarray(terms.numbers, dtype="<i4"),
        "title_docs": np.asarray([t.doc for t in index.titles], dtype="<i4"),
        "question_docs": np.asarray([t.doc for t in index.questions], dtype="<i4"),
        "background_counts": np.asarray(list(index.background.values()), dtype="<i8"),
    }


def _encoded(name: str, items: Sequence[str]) -> bytes:
    if any(_SEPARATOR in item for item in items):
        raise ValueError(f"a string of {name} holds a line break")
    return _SEPARATOR.join(items).encode("utf-8")


def _sections(matcher: Matcher) -> tuple[dict[str, Any], list[bytes]]:
    """The header (without section offsets relative to the file) and the section blobs."""
    index = matcher.index
    codes, names = codes_and_names(matcher.indicators)
    header: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "size": index.size,
        "background_size": index.background_size,
        "bm25_terms": index.bm25_terms,
        "calibration": dataclasses.asdict(matcher.calibration),
        "codes": codes,
        "names": names,
        "arrays": {},
        "texts": {},
    }
    blobs: list[bytes] = []
    position = 0
    for name, array in _arrays(index, matcher).items():
        header["arrays"][name] = [array.dtype.str, len(array), position]
        blobs.append(array.tobytes())
        position += -(-len(blobs[-1]) // _ALIGN) * _ALIGN
    for name, items in _texts(index).items():
        blobs.append(_encoded(name, items))
        header["texts"][name] = [len(items), position, len(blobs[-1])]
        position += -(-len(blobs[-1]) // _ALIGN) * _ALIGN
    return header, blobs


def save_matcher(matcher: Matcher, path: Path) -> None:
    """Write a prepared matcher's file atomically (a temporary name, then a rename)."""
    header, blobs = _sections(matcher)
    encoded = json.dumps(header, ensure_ascii=False).encode("utf-8")
    start = -(-(len(MAGIC) + _LENGTH.size + len(encoded)) // _ALIGN) * _ALIGN
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(MAGIC + _LENGTH.pack(len(encoded)) + encoded)
            file.write(b"\0" * (start - file.tell()))
            for blob in blobs:
                file.write(blob)
                file.write(b"\0" * (-len(blob) % _ALIGN))
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


class _Reader:
    """Sections of a mapped file."""

    def __init__(self, mapped: mmap.mmap) -> None:
        if mapped[: len(MAGIC)] != MAGIC:
            raise ValueError("not a prepared matcher file")
        (length,) = _LENGTH.unpack_from(mapped, len(MAGIC))
        body = len(MAGIC) + _LENGTH.size
        self.header: dict[str, Any] = json.loads(mapped[body : body + length].decode("utf-8"))
        if self.header["format"] != FORMAT_VERSION:
            raise ValueError(f"format {self.header['format']}, not {FORMAT_VERSION}")
        self.start = -(-(body + length) // _ALIGN) * _ALIGN
        self.mapped = mapped

    def array(self, name: str) -> NDArray[Any]:
        dtype, count, offset = self.header["arrays"][name]
        return np.frombuffer(self.mapped, dtype=dtype, count=count, offset=self.start + offset)

    def texts(self, name: str) -> list[str]:
        count, offset, size = self.header["texts"][name]
        if count == 0:
            return []
        begin = self.start + offset
        items = self.mapped[begin : begin + size].decode("utf-8").split(_SEPARATOR)
        if len(items) != count:
            raise ValueError(f"{name}: {len(items)} strings, expected {count}")
        return items


class _MappedLines(Sequence[str]):
    """The indicators' JSON lines, decoded from the mapped file one at a time."""

    def __init__(self, data: NDArray[np.uint8], offsets: NDArray[np.int64]) -> None:
        if len(offsets) == 0 or int(offsets[-1]) != len(data):
            raise ValueError("indicator lines do not fit their offsets")
        self._data = data
        self._offsets = offsets

    def __len__(self) -> int:
        return len(self._offsets) - 1

    @overload
    def __getitem__(self, position: int) -> str: ...

    @overload
    def __getitem__(self, position: slice) -> Sequence[str]: ...

    def __getitem__(self, position: int | slice) -> str | Sequence[str]:
        if isinstance(position, slice):
            return [self[n] for n in range(len(self))[position]]
        number = range(len(self))[position]
        start, end = int(self._offsets[number]), int(self._offsets[number + 1])
        return self._data[start:end].tobytes().decode("utf-8")


def _titles(reader: _Reader, kind: str) -> list[Title]:
    docs = reader.array(f"{kind}_docs").tolist()
    texts, phons = reader.texts(f"{kind}_texts"), reader.texts(f"{kind}_phons")
    return list(map(Title._make, zip(docs, texts, phons, strict=True)))


def _index(reader: _Reader) -> LexicalIndex:
    header = reader.header
    offsets, docs = reader.array("offsets"), reader.array("docs")
    terms = TermTable.from_bytes(reader.array("term_trie").tobytes(), reader.array("term_numbers"))
    weights, bm25 = reader.array("weights"), reader.array("bm25")
    bm25_terms = header["bm25_terms"]
    if (
        int(offsets[-1]) != len(docs)
        or len(reader.array("idf")) != len(offsets) - 1
        or len(weights) != len(docs)
        or not 0 <= bm25_terms < len(offsets)
        or len(bm25) != int(offsets[bm25_terms])
        or len(terms) != len(offsets) - 1
    ):
        raise ValueError("postings and terms do not fit together")
    return LexicalIndex(
        size=header["size"],
        terms=terms,
        offsets=offsets,
        docs=docs,
        weights=weights,
        bm25=bm25,
        bm25_terms=bm25_terms,
        idf=reader.array("idf"),
        lexicon=dict(
            zip(reader.texts("lexicon_words"), reader.texts("lexicon_terms"), strict=True)
        ),
        related=dict(
            zip(reader.texts("related_words"), reader.texts("related_terms"), strict=True)
        ),
        titles=_titles(reader, "title"),
        questions=_titles(reader, "question"),
        office=list(zip(reader.texts("office_words"), reader.texts("office_terms"), strict=True)),
        background=dict(
            zip(
                reader.texts("background_terms"),
                reader.array("background_counts").tolist(),
                strict=True,
            )
        ),
        background_size=header["background_size"],
    )


def load_matcher(
    path: Path, config: MatcherConfig, *, learned: Mapping[str, Sequence[str]] | None = None
) -> Matcher:
    """The matcher saved in ``path``; raises ``ValueError`` if the file is unreadable.

    ``learned`` are the phrasings it was built with: the index holds them already, and the
    matcher answers a question learned for exactly one indicator directly.
    """
    try:
        with open(path, "rb") as file:
            mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        reader = _Reader(mapped)
        calibration = reader.header["calibration"]
        indicators = StoredIndicators(
            reader.header["codes"],
            reader.header["names"],
            _MappedLines(reader.array("indicator_bytes"), reader.array("indicator_offsets")),
        )
        index = _index(reader)
        return Matcher(
            indicators,
            config,
            learned=learned,
            index=index,
            calibration=Calibration(
                in_scope=tuple(calibration["in_scope"]),
                right=tuple(calibration["right"]),
                answer_threshold=calibration["answer_threshold"],
                clarify_threshold=calibration["clarify_threshold"],
                points_clarify_threshold=calibration["points_clarify_threshold"],
                off_topic_threshold=calibration["off_topic_threshold"],
            ),
        )
    except (OSError, ValueError, KeyError, TypeError, IndexError, struct.error) as exc:
        raise ValueError(f"unreadable matcher cache {path.name}: {exc}") from exc
