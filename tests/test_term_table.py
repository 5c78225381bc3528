"""The loaded index's term table: the same mapping as the built index's dict, in a trie."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from knowledge.term_table import TermTable

TERMS = {"c网址": 0, "w等候时长": 3, "u网": 1, "p wang zhi": 2, "s12": 4, "w𠀀字": 5}


def test_every_term_finds_its_number_and_nothing_else_is_found() -> None:
    table = TermTable.of(TERMS)
    assert {term: table[term] for term in TERMS} == TERMS
    assert dict(table) == TERMS
    assert len(table) == len(TERMS)
    assert table.get("c网") is None
    assert table.get("c网址址", -1) == -1
    assert "u网" in table
    assert "u址" not in table
    assert 3 not in table  # type: ignore[comparison-overlap]
    with pytest.raises(KeyError):
        table["w等候"]


def test_a_table_reads_back_from_its_bytes() -> None:
    table = TermTable.of(TERMS)
    again = TermTable.from_bytes(table.to_bytes(), table.numbers.copy())
    assert dict(again) == TERMS


def test_a_nul_is_never_part_of_a_term() -> None:
    with pytest.raises(ValueError, match="NUL"):
        TermTable.of({"c网\0址": 0})
    assert TermTable.of(TERMS).get("u网\0") is None  # MARISA alone would find u网


def test_a_damaged_table_is_refused_as_a_value_error() -> None:
    table = TermTable.of(TERMS)
    with pytest.raises(ValueError, match="malformed term trie"):
        TermTable.from_bytes(b"not a trie" * 8, table.numbers)
    with pytest.raises(ValueError, match="do not fit together"):
        TermTable.from_bytes(table.to_bytes(), table.numbers[:-1])
    wrong = table.numbers.copy()
    wrong[0] = len(TERMS)  # a term number past the postings
    with pytest.raises(ValueError, match="do not fit together"):
        TermTable.from_bytes(table.to_bytes(), wrong)


TERM_TEXT = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\0"), min_size=1, max_size=6
)


@given(st.lists(TERM_TEXT, unique=True, max_size=60))
def test_any_terms_map_exactly_as_a_dict_does(terms: list[str]) -> None:
    numbers = {term: n for n, term in enumerate(reversed(terms))}
    built = TermTable.of(numbers)
    table = TermTable.from_bytes(built.to_bytes(), built.numbers.copy())
    assert dict(table) == numbers
    for term in terms:
        assert table.get(term + "\x00") == numbers.get(term + "\x00")
