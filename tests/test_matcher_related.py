"""Words close in meaning (word vectors): an everyday word finds the rulebook word it stands
for, weaker than the word itself, and only where the rulebook lacks the everyday word."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path

from knowledge.index_file import load_matcher, save_matcher
from knowledge.matcher import Matcher, MatcherConfig
from knowledge.ranking import EVIDENCE_KINDS
from knowledge.related import PER_WORD, parse, related_words
from knowledge.rulebook import Indicator, IndicatorType


def deduction(code: str, name: str, standard: str) -> Indicator:
    return Indicator(
        code=code, name=name, type=IndicatorType.DEDUCTION, points=Decimal("1"), standard=standard
    )


RULEBOOK = [
    deduction("H-1", "门诊输液比例", "门诊输液人次占门诊总人次的比例超过30%的扣1分。"),
    deduction("H-2", "病媒生物防制", "辖区鼠密度、蚊蝇密度超过控制标准的扣1分。"),
    deduction("H-3", "群众来信答复", "收到群众来信的，10个工作日内书面答复。"),
]


def test_the_table_gives_close_words_of_the_rulebook_only() -> None:
    related = related_words(["输液", "厕所", "感谢信"])
    assert parse(related["打针"])[0] == ("输液", 0.80)
    assert parse(related["茅房"])[0][0] == "厕所"
    assert parse(related["锦旗"])[0][0] == "感谢信"
    assert "输液" not in related  # a rulebook word is not related to itself
    for entry in related.values():
        pairs = parse(entry)
        assert 1 <= len(pairs) <= PER_WORD
        assert all(0.6 <= cosine <= 1.0 for _word, cosine in pairs)
        assert [c for _w, c in pairs] == sorted((c for _w, c in pairs), reverse=True)
    assert related_words(["没有这个词的词表"]) == {}


def test_an_everyday_word_finds_the_rulebook_word_it_stands_for() -> None:
    question = "打针的病人太多了"
    with_related = Matcher(RULEBOOK, background=())
    without = Matcher(RULEBOOK, MatcherConfig(related_share=0.0), background=())
    ranked = with_related.scored(question).ranked
    assert ranked[0][0] == 0
    related = EVIDENCE_KINDS.index("v")
    found, alone = with_related.ranking_rows(question), without.ranking_rows(question)
    assert found is not None
    assert alone is not None
    assert found[1][found[0].index(0), related] > 0
    assert alone[1][alone[0].index(0), related] == 0
    # without the related words H-1 holds only the 人 of 人次
    assert dict(ranked)[0] > 1.5 * dict(without.scored(question).ranked)[0]


def test_related_evidence_weighs_less_than_the_word_itself() -> None:
    matcher = Matcher(RULEBOOK, background=())
    direct = dict(matcher.scored("输液").ranked)[0]
    stand_in = dict(matcher.scored("打针").ranked)[0]
    assert 0 < stand_in < direct


def test_words_the_rulebook_holds_are_not_expanded() -> None:
    # 打针 is in this rulebook, so it is not read as 输液 (the other indicator) as well
    rulebook = [
        deduction("A-1", "打针登记", "每次打针都要登记。"),
        deduction("A-2", "门诊输液比例", "门诊输液人次占比超过30%的扣1分。"),
    ]
    matcher = Matcher(rulebook, background=())
    assert [doc for doc, _score in matcher.scored("打针").ranked] == [0]


def test_the_cached_matcher_file_keeps_the_related_words(tmp_path: Path) -> None:
    built = Matcher(RULEBOOK, background=())
    path = tmp_path / "matcher.bin"
    save_matcher(built, path)
    loaded = load_matcher(path, built.config)
    assert loaded.index.related == built.index.related
    assert "打针" in loaded.index.related
    question = "菜场老鼠太多"
    assert loaded.scored(question).ranked == built.scored(question).ranked
    assert dataclasses.asdict(loaded.config) == dataclasses.asdict(built.config)
