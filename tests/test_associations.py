"""Everyday words learned from other bureaus' labelled questions: how they are counted, left
out per rulebook, shipped, and used by the matcher."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from knowledge.associations import (
    DATA,
    MIN_SHARE,
    Counts,
    Example,
    count,
    read,
    shipped_table,
    write,
)
from knowledge.holdout import labelled_rulebooks, paraphrase_examples, prepare_case
from knowledge.matcher import Matcher, MatcherConfig
from tests.test_matcher_evidence import SAMPLE

ROOT = Path(__file__).resolve().parents[1]
MEDIA = ("被媒体曝光",)


def _counts() -> Counts:
    return count(
        [
            Example("a", "记者来拍了我们的窗口", MEDIA),
            Example("a", "记者在门口拍视频", MEDIA),
            Example("b", "记者暗访后播出来了", MEDIA),
            Example("b", "记者打电话来问情况", MEDIA),
            Example("b", "记者来采访我们的先进经验", ("获上级表彰",)),
            Example("c", "电视台播了我们的问题", MEDIA),
            Example("c", "昨天媒体来了记者", MEDIA),  # 媒体 in the question: not paired with it
        ]
    )


def test_a_word_pointing_to_a_name_word_in_a_fifth_of_its_questions_is_kept() -> None:
    assert MIN_SHARE == 0.2
    table = _counts().table()
    assert "媒体" in table["记者"]
    assert "表彰" not in table["记者"]  # 1 of the 6 questions holding 记者
    assert "媒体" in table["电视台"]


def test_a_rulebook_left_out_takes_its_questions_with_it() -> None:
    counts = _counts()
    assert "电视台" not in counts.table(excluding=("c",))
    assert "表彰" in counts.table(excluding=("a", "c"))["记者"]  # now 1 of 3


def test_the_shipped_file_keeps_what_any_one_left_out_needs(tmp_path: Path) -> None:
    counts = _counts()
    path = tmp_path / "associations.tsv"
    write(counts.usable(), path)
    again = read(path)
    for excluded in ((), ("a",), ("b",), ("c",)):
        assert again.table(excluded) == counts.table(excluded)


def test_the_shipped_counts_are_those_of_the_labelled_rulebooks() -> None:
    """Adding or changing a labelled set means running scripts/build_associations.py."""
    books = labelled_rulebooks(ROOT)
    shipped = read(DATA)
    assert shipped.sources == [book.name for book in books]
    assert shipped.table() == count(paraphrase_examples(books)).table()


def test_the_matcher_adds_learned_words_and_leaves_a_rulebook_s_own_out() -> None:
    question = "记者在门口拍我们"
    assert set(shipped_table()["记者"]) >= {"媒体", "曝光"}
    matcher = Matcher(SAMPLE, background=())
    assert "媒体 1.00" in matcher.index.related["记者"]
    everyone = tuple(read(DATA).sources)
    alone = Matcher(SAMPLE, MatcherConfig(association_excluded=everyone), background=())
    assert "1.00" not in alone.index.related.get("记者", "")
    # the sample's 负面舆情 is found through 记者 → 舆情, and missed without it
    assert matcher.indicators[matcher.score(question)[1][0][0]].code == "KF-11"
    assert alone.indicators[alone.score(question)[1][0][0]].code != "KF-11"


def test_a_measurement_leaves_out_the_rulebook_s_own_questions_unless_told_otherwise() -> None:
    (book,) = [b for b in labelled_rulebooks(ROOT) if b.name == "tax_bureau_2026"]
    book = dataclasses.replace(book, questions=book.questions[:5])
    assert prepare_case(book).matcher.config.association_excluded == (book.name,)
    # nothing left out: the in-sample bound of benchmarks/bench_bounds.py
    assert prepare_case(book, association_excluded=()).matcher.config.association_excluded == ()
