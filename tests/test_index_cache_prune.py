"""Files of superseded rulebook versions are pruned; a fresh process answers from the file."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from filelock import FileLock

from db import rulebook_store
from knowledge.index_cache import (
    KEEP_OTHERS,
    STALE_S,
    cache_key,
    cache_path,
    load_cached,
    prepare_cached,
    prune_cache,
)
from knowledge.matcher import MatcherConfig
from knowledge.rulebook import Cycle, IndicatorType
from knowledge.rulebook_files import read_rulebook
from knowledge.stored_indicators import StoredIndicators, indicator_from_json, indicator_json
from tests.cli_helpers import kpibot
from tests.conftest import SAMPLE_RULEBOOK
from tests.test_index_cache import INDICATORS, NEGATIVES

HOUR = 3600.0


def _file(path: Path, age: float) -> Path:
    path.write_bytes(b"x")
    moment = time.time() - age
    os.utime(path, (moment, moment))
    return path


def test_prune_keeps_the_current_file_and_the_most_recently_used(tmp_path: Path) -> None:
    keys = [f"{n:032x}" for n in range(5)]
    versions = [_file(cache_path(tmp_path, k), age=(5 - n) * HOUR) for n, k in enumerate(keys)]
    locks = [_file(p.with_suffix(".lock"), age=HOUR) for p in versions]
    earlier_format = _file(tmp_path / f"matcher-{'f' * 32}.npz", age=60)
    stale_part = _file(tmp_path / f"{versions[1].name}abc.part", age=STALE_S + 60)
    live_part = _file(tmp_path / f"{versions[1].name}def.part", age=1)
    orphan_lock = _file(tmp_path / f"matcher-{'e' * 32}.lock", age=STALE_S + 60)
    current = versions[0]  # the oldest file is the one just built: it stays

    removed = prune_cache(tmp_path, keep=current)

    newest = versions[-KEEP_OTHERS:]
    assert sorted(removed) == sorted([*versions[1:-KEEP_OTHERS], earlier_format, orphan_lock])
    assert sorted(tmp_path.iterdir()) == sorted(
        [current, *newest, locks[0], *locks[-KEEP_OTHERS:], live_part]
    )
    assert not stale_part.exists()


def test_a_file_whose_lock_is_held_is_not_pruned(tmp_path: Path) -> None:
    old, current = (cache_path(tmp_path, f"{n:032x}") for n in range(2))
    _file(old, age=HOUR)
    _file(current, age=0)
    with FileLock(str(old.with_suffix(".lock"))):  # someone is building that version now
        assert prune_cache(tmp_path, keep=current, others=0) == []
    assert old.exists()
    assert prune_cache(tmp_path, keep=current, others=0) == [old]
    assert sorted(tmp_path.iterdir()) == [current]


def test_a_build_prunes_what_was_used_least_recently(tmp_path: Path) -> None:
    config = MatcherConfig()
    books = [INDICATORS[:n] for n in range(4, 4 + KEEP_OTHERS + 2)]
    paths = [cache_path(tmp_path, cache_key(b, config, negatives=NEGATIVES)) for b in books]
    for n, book in enumerate(books[:-1]):
        assert prepare_cached(book, tmp_path, negatives=NEGATIVES)[1]
        moment = time.time() - (10 - n) * HOUR
        os.utime(paths[n], (moment, moment))
    # the oldest build was used a moment ago: that use, not the build, counts
    assert load_cached(tmp_path, paths[0].stem.removeprefix("matcher-"), config) is not None

    assert prepare_cached(books[-1], tmp_path, negatives=NEGATIVES)[1]

    assert sorted(tmp_path.glob("*.idx")) == sorted([paths[0], *paths[2:]])
    assert not paths[1].with_suffix(".lock").exists()


def test_stored_indicators_decode_equal_and_only_when_read() -> None:
    varied = [
        replace(INDICATORS[0], cap=Decimal("1.50"), cycle=Cycle.QUARTER, owner="征管股"),
        *INDICATORS[1:],
    ]
    stored = StoredIndicators(
        [i.code for i in varied], [i.name for i in varied], [indicator_json(i) for i in varied]
    )
    assert stored[0] == varied[0]
    assert str(stored[0].cap) == "1.50"
    assert stored[-1] == varied[-1]
    assert list(stored) == varied
    assert stored[1:3] == tuple(varied[1:3])
    assert indicator_from_json(indicator_json(varied[5])) == varied[5]
    with pytest.raises(IndexError):
        stored[len(varied)]


def test_a_fresh_process_answers_from_the_file_without_reading_the_indicators(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KPIBOT_MATCHER_CACHE_DIR", str(tmp_path / "cache"))
    assert kpibot(database_url, "rulebook", "import", str(SAMPLE_RULEBOOK)).code == 0
    expected = [kpibot(database_url, "ask", q).out for q in ("满义度调查怎么算", "食堂今天吃什么")]

    def unwanted(**_kwargs: object) -> None:
        raise AssertionError("the whole rulebook was read")

    monkeypatch.setattr(rulebook_store, "load_rulebook", unwanted)
    card = kpibot(database_url, "ask", "满义度调查怎么算")
    assert card.out.splitlines()[0] == "【DL-04】纳税人满意度"
    assert card.out == expected[0]
    none = kpibot(database_url, "ask", "食堂今天吃什么").out
    assert none == expected[1]
    book = read_rulebook(SAMPLE_RULEBOOK).indicators
    categories = list(dict.fromkeys(i.category for i in book if i.category))
    assert f"细则涵盖：{'、'.join(categories)}。" in none
    first_bonus = next(i for i in book if i.type is IndicatorType.BONUS)
    assert f"· {first_bonus.name}能加几分？" in none.splitlines()
