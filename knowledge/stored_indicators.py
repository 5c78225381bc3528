"""A rulebook's indicators as stored in a prepared matcher's file, decoded one at a time.

A matcher loaded from its cache file answers with codes and names only; the whole
:class:`~knowledge.rulebook.Indicator` is decoded when someone reads it. So a fresh process
at 5,000 indicators pays neither for reading them from the database nor for decoding them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any, overload

from knowledge.rulebook import Cycle, Faq, Indicator, IndicatorType, Interpretation, Level


def indicator_json(indicator: Indicator) -> str:
    """One indicator as one line of JSON; :func:`indicator_from_json` gives it back equal."""
    return json.dumps(
        [
            indicator.code,
            indicator.name,
            indicator.type.value,
            str(indicator.points),
            indicator.category,
            None if indicator.cap is None else str(indicator.cap),
            indicator.owner,
            None if indicator.cycle is None else indicator.cycle.value,
            indicator.standard,
            list(indicator.aliases),
            [[i.level.value, i.text] for i in indicator.interpretations],
            [[f.q, f.a] for f in indicator.faq],
        ],
        ensure_ascii=False,
    )


def indicator_from_json(text: str) -> Indicator:
    """The indicator :func:`indicator_json` wrote."""
    fields: list[Any] = json.loads(text)
    code, name, kind, points, category, cap, owner, cycle, standard = fields[:9]
    aliases, interpretations, faq = fields[9:]
    return Indicator(
        code=code,
        name=name,
        type=IndicatorType(kind),
        points=Decimal(points),
        category=category,
        cap=None if cap is None else Decimal(cap),
        owner=owner,
        cycle=None if cycle is None else Cycle(cycle),
        standard=standard,
        aliases=tuple(aliases),
        interpretations=tuple(
            Interpretation(Level(level), text) for level, text in interpretations
        ),
        faq=tuple(Faq(q, a) for q, a in faq),
    )


class StoredIndicators(Sequence[Indicator]):
    """Read-only indicators whose codes and names are at hand and the rest decoded on use."""

    def __init__(self, codes: Sequence[str], names: Sequence[str], lines: Sequence[str]) -> None:
        if not len(codes) == len(names) == len(lines):
            raise ValueError("codes, names and indicators differ in number")
        self.codes = tuple(codes)
        self.names = tuple(names)
        self._lines = lines
        self._decoded: dict[int, Indicator] = {}

    def __len__(self) -> int:
        return len(self.codes)

    @overload
    def __getitem__(self, position: int) -> Indicator: ...

    @overload
    def __getitem__(self, position: slice) -> Sequence[Indicator]: ...

    def __getitem__(self, position: int | slice) -> Indicator | Sequence[Indicator]:
        if isinstance(position, slice):
            return tuple(self[n] for n in range(len(self))[position])
        number = range(len(self))[position]  # negative positions and IndexError as for a tuple
        found = self._decoded.get(number)
        if found is None:
            found = self._decoded[number] = indicator_from_json(self._lines[number])
        return found

    def __iter__(self) -> Iterator[Indicator]:
        return (self[n] for n in range(len(self)))


def codes_and_names(indicators: Sequence[Indicator]) -> tuple[list[str], list[str]]:
    """Every indicator's code and name, without decoding stored ones."""
    if isinstance(indicators, StoredIndicators):
        return list(indicators.codes), list(indicators.names)
    return [i.code for i in indicators], [i.name for i in indicators]
