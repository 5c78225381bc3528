"""The index's term → number table, compact and exact, as read back from a prepared file.

A dict of the 180,000 terms of a 5,000-indicator rulebook takes 28 MB of every process's heap
(the strings and the table), more than half of the prepared matcher. A static trie of the
same terms (the ``marisa-trie`` package, a binding of the MARISA library) takes under 1 MB
and answers a lookup in about a third of a microsecond (a dict: a tenth), so a loaded matcher
keeps the trie and, beside it, each trie key's term number. A matcher that was just built
keeps its dict: the table only replaces it on the way through the file.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import marisa_trie
import numpy as np
from numpy.typing import NDArray


class TermTable(Mapping[str, int]):
    """Terms → their numbers in the index, read-only."""

    def __init__(self, trie: marisa_trie.Trie, numbers: NDArray[np.int32]) -> None:
        if len(trie) != len(numbers) or (
            len(numbers) and not 0 <= int(numbers.min()) <= int(numbers.max()) < len(numbers)
        ):
            raise ValueError("the term trie and its numbers do not fit together")
        self._trie = trie
        self._numbers = numbers

    @classmethod
    def of(cls, terms: Mapping[str, int]) -> TermTable:
        """The table of a built index's terms."""
        if any("\0" in term for term in terms):  # MARISA keys end at a NUL
            raise ValueError("a term holds a NUL character")
        trie = marisa_trie.Trie(list(terms))
        numbers = np.empty(len(trie), dtype=np.int32)
        for term, number in terms.items():
            numbers[trie[term]] = number
        return cls(trie, numbers)

    @classmethod
    def from_bytes(cls, data: bytes, numbers: NDArray[np.int32]) -> TermTable:
        """A table written with :meth:`to_bytes` and :attr:`numbers`."""
        trie = marisa_trie.Trie()
        try:
            trie.frombytes(data)
        except RuntimeError as exc:  # MARISA reports a malformed trie this way
            raise ValueError(f"malformed term trie: {exc}") from exc
        return cls(trie, numbers)

    def to_bytes(self) -> bytes:
        """The trie, to be stored next to :attr:`numbers`."""
        data: bytes = self._trie.tobytes()
        return data

    @property
    def numbers(self) -> NDArray[np.int32]:
        """Each trie key's term number, in the trie's key order."""
        return self._numbers

    def get(self, term: str, default: int | None = None) -> int | None:  # type: ignore[override]
        if "\0" in term:  # no term holds one; MARISA would read the key only up to it
            return default
        key: int | None = self._trie.get(term)
        return default if key is None else int(self._numbers[key])

    def __getitem__(self, term: str) -> int:
        found = self.get(term)
        if found is None:
            raise KeyError(term)
        return found

    def __contains__(self, term: object) -> bool:
        return isinstance(term, str) and self.get(term) is not None

    def __iter__(self) -> Iterator[str]:
        keys: Iterator[str] = iter(self._trie.keys())
        return keys

    def __len__(self) -> int:
        return len(self._trie)
