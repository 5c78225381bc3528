"""Prepared matchers are built once per rulebook version and shared across processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from knowledge import index_cache
from knowledge.index_cache import cache_key, prepare_cached, shipped_digest
from knowledge.index_file import load_matcher, save_matcher
from knowledge.matcher import MatcherConfig, Outcome
from knowledge.prepare import prepare_matcher
from knowledge.rulebook_files import read_rulebook
from tests.conftest import SAMPLE_RULEBOOK

ROOT = Path(__file__).resolve().parents[1]
INDICATORS = read_rulebook(SAMPLE_RULEBOOK).indicators
NEGATIVES = [
    line
    for line in (ROOT / "knowledge/data/out_of_scope_questions.txt")
    .read_text(encoding="utf-8")
    .splitlines()
    if line and not line.startswith("#")
][:120]
QUESTIONS = [
    "纳税人满意度怎么算",
    "有个老板在大厅等了快一个小时才轮到他，会扣我们分吗",
    "扣分",
    "食堂今天吃什么",
    "dl-07",
]


def test_a_loaded_matcher_answers_exactly_like_the_built_one(tmp_path: Path) -> None:
    built = prepare_matcher(INDICATORS, negatives=NEGATIVES)
    path = tmp_path / "m.idx"
    save_matcher(built, path)
    loaded = load_matcher(path, MatcherConfig())
    assert loaded.calibration == built.calibration
    assert list(loaded.indicators) == list(INDICATORS)  # decoded from the file, equal
    assert loaded.index.bm25_terms == built.index.bm25_terms
    assert loaded.index.bm25.tolist() == built.index.bm25.tolist()
    for question in QUESTIONS:
        assert loaded.match_question(question) == built.match_question(question)
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_the_key_follows_the_rulebook_content() -> None:
    config = MatcherConfig()
    key = cache_key(INDICATORS, config, negatives=NEGATIVES)
    assert key == cache_key(tuple(INDICATORS), config, negatives=NEGATIVES)
    changed = [replace(INDICATORS[0], standard=INDICATORS[0].standard + "。"), *INDICATORS[1:]]
    assert cache_key(changed, config, negatives=NEGATIVES) != key
    assert cache_key(INDICATORS, config, learned={"DL-01": ["收入"]}, negatives=NEGATIVES) != key


def test_the_key_follows_the_shipped_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upgrade that recounts the learned associations must not read indexes built before."""
    config = MatcherConfig()
    real = cache_key(INDICATORS, config, negatives=NEGATIVES)
    table = tmp_path / "associations.tsv"
    keys = []
    with monkeypatch.context() as patched:
        patched.setattr(index_cache, "SHIPPED_DATA", tmp_path)
        for text in ("p\t记者\t媒体\t0:3\n", "p\t记者\t媒体\t0:4\n"):
            table.write_text(text, encoding="utf-8")
            shipped_digest.cache_clear()
            keys.append(cache_key(INDICATORS, config, negatives=NEGATIVES))
    shipped_digest.cache_clear()
    assert len({real, *keys}) == 3
    assert cache_key(INDICATORS, config, negatives=NEGATIVES) == real


def test_a_failed_write_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built = prepare_matcher(INDICATORS[:5], negatives=NEGATIVES)

    def broken(*_args: object, **_kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)  # after the whole file is written
    with pytest.raises(OSError, match="disk full"):
        save_matcher(built, tmp_path / "m.idx")
    assert list(tmp_path.iterdir()) == []


def test_a_corrupt_file_is_rebuilt(tmp_path: Path) -> None:
    first, built = prepare_cached(INDICATORS[:8], tmp_path, negatives=NEGATIVES)
    assert built
    (saved,) = tmp_path.glob("*.idx")
    saved.write_bytes(b"not a zip file")
    again, rebuilt = prepare_cached(INDICATORS[:8], tmp_path, negatives=NEGATIVES)
    assert rebuilt
    assert again.match_question(QUESTIONS[0]) == first.match_question(QUESTIONS[0])
    _loaded, built_again = prepare_cached(INDICATORS[:8], tmp_path, negatives=NEGATIVES)
    assert not built_again


_CHILD = """
import json, sys
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from knowledge.index_cache import prepare_cached
from knowledge.rulebook_files import read_rulebook
indicators = read_rulebook(Path(sys.argv[2])).indicators
print("ready", flush=True)
sys.stdin.readline()
matcher, built = prepare_cached(indicators, Path(sys.argv[3]))
print(json.dumps({"built": built, "best": matcher.match_question(sys.argv[4]).best.code}))
"""


def test_concurrent_first_builds_build_once(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                _CHILD,
                str(ROOT),
                str(SAMPLE_RULEBOOK),
                str(cache),
                "纳税人满意度",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for child in children:  # both have read the rulebook: start them together
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    reports = []
    for child in children:
        out, _err = child.communicate(timeout=600)
        assert child.returncode == 0
        reports.append(json.loads(out.strip().splitlines()[-1]))
    assert sorted(r["built"] for r in reports) == [False, True]
    assert {r["best"] for r in reports} == {"DL-04"}
    assert len(list(cache.glob("*.idx"))) == 1


def test_a_question_learned_for_one_indicator_is_answered_directly_after_a_load(
    tmp_path: Path,
) -> None:
    code = INDICATORS[3].code
    learned = {code: ["那个12366的事"]}
    built, was_built = prepare_cached(INDICATORS, tmp_path, learned=learned, negatives=NEGATIVES)
    loaded, rebuilt = prepare_cached(INDICATORS, tmp_path, learned=learned, negatives=NEGATIVES)
    assert (was_built, rebuilt) == (True, False)
    for matcher in (built, loaded):
        result = matcher.match_question("您好，那个１２３６６的事")  # greeting, full width
        assert result.status is Outcome.ANSWER
        assert [c.code for c in result.matches] == [code]
