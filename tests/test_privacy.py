"""The masker against the corpus of what people really write, and as a property: personal
data inserted into ordinary text is gone, and the text around it is kept exactly."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from knowledge.privacy import (
    ADDRESS_MASK,
    CARD_MASK,
    EMAIL_MASK,
    ID_MASK,
    PHONE_MASK,
    mask_personal_data,
)
from tests.privacy_helpers import leaked_digits

CORPUS = Path(__file__).with_name("data") / "privacy"


@dataclass(frozen=True)
class Case:
    kind: str
    before: str
    secret: str
    after: str
    expected: str

    @property
    def text(self) -> str:
        return self.before + self.secret + self.after


def load_cases() -> list[Case]:
    data = yaml.safe_load((CORPUS / "identifiers.yaml").read_text(encoding="utf-8"))
    cases = []
    for kind, block in data.items():
        for row in block["cases"]:
            before, secret, after = row[:3]
            expected = row[3] if len(row) > 3 else before + block["mask"] + after
            cases.append(Case(kind, before, secret, after, expected))
    return cases


CASES = load_cases()
UNTOUCHED: list[str] = yaml.safe_load((CORPUS / "untouched.yaml").read_text(encoding="utf-8"))


def test_the_corpus_is_large_and_covers_every_kind() -> None:
    kinds = {case.kind for case in CASES}
    assert kinds == {"id", "mobile", "landline", "email", "card", "address", "mixed"}
    assert len(CASES) >= 150
    assert len(UNTOUCHED) >= 60


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.kind}:{c.text}")
def test_personal_data_is_masked(case: Case) -> None:
    masked = mask_personal_data(case.text)
    assert masked == case.expected
    assert leaked_digits(case.before, case.secret, case.after, masked) == set()


@pytest.mark.parametrize("text", UNTOUCHED)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert mask_personal_data(text) == text


def test_the_digits_check_finds_a_leak() -> None:
    # The check the corpus relies on sees four surviving digits, whatever their script.
    assert leaked_digits("电话", "13900001111", "", "电话[电话已隐去]") == set()
    assert leaked_digits("电话", "13900001111", "", "电话139****1111") == {"1111"}
    assert leaked_digits("电话", "一三九零零零零幺幺幺幺", "", "电话１１１１") == {"1111"}


# ---------------------------------------------------------------- properties

SEPARATORS = ["", " ", "-", ".", "—", "\u00a0", "\u3000", "\u200b"]
FULL_WIDTH = str.maketrans("0123456789Xx", "０１２３４５６７８９Ｘｘ")


def numbers(length: int, first: str = "0123456789") -> st.SearchStrategy[str]:
    rest = st.text(alphabet="0123456789", min_size=length - 1, max_size=length - 1)
    return st.tuples(st.sampled_from(list(first)), rest).map("".join)


def grouped(number: str, sizes: tuple[int, ...], separator: str) -> str:
    parts, start = [], 0
    for size in sizes:
        parts.append(number[start : start + size])
        start += size
    parts.append(number[start:])
    return separator.join(p for p in parts if p)


@st.composite
def written(draw: st.DrawFn, number: str, groupings: list[tuple[int, ...]]) -> str:
    text = grouped(number, draw(st.sampled_from(groupings)), draw(st.sampled_from(SEPARATORS)))
    return text.translate(FULL_WIDTH) if draw(st.booleans()) else text


READS_AS_AN_ID = re.compile(
    r"[1-9][0-9]{5}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{4}"
)


@st.composite
def id_numbers(draw: st.DrawFn) -> str:
    born = draw(st.dates(min_value=date(1920, 1, 1), max_value=date(2025, 12, 31)))
    region = draw(numbers(6, first="123456789"))
    sequence = draw(numbers(3))
    check = draw(st.sampled_from(list("0123456789Xx")))
    number = region + born.strftime("%Y%m%d") + sequence + check
    return draw(written(number, [(18,), (6, 8), (6, 4, 4), (4, 4, 4, 4)]))


@st.composite
def mobiles(draw: st.DrawFn) -> str:
    number = "1" + draw(st.sampled_from(list("3456789"))) + draw(numbers(9))
    if draw(st.integers(0, 5)) == 0:  # said digit by digit: 一三八…
        return number.translate(str.maketrans("0123456789", "零一二三四五六七八九"))
    prefix = draw(st.sampled_from(["", "+86 ", "+86-", "0086 ", "86 ", "(+86)", "（+86）"]))
    return prefix + draw(written(number, [(11,), (3, 4), (3, 2, 2, 2), (4, 4)]))


@st.composite
def landlines(draw: st.DrawFn) -> str:
    # Local numbers here start with 3-8 like real ones; a bare 8-digit 2026xxxx reads as a
    # date and is deliberately left alone.
    local = draw(numbers(draw(st.sampled_from([7, 8])), first="345678"))
    local = draw(st.sampled_from([local, grouped(local, (len(local) - 4,), "-")]))
    area = draw(st.sampled_from(["", "010-", "021 ", "0512-", "（0512）", "(0755)", "0512"]))
    return area + local


@st.composite
def emails(draw: st.DrawFn) -> str:
    user = draw(st.from_regex(r"[a-z][a-z0-9._\-]{0,12}[a-z0-9]", fullmatch=True))
    domain = draw(st.sampled_from(["qq.com", "163.com", "szgs.gov.cn", "example.org"]))
    return user + draw(st.sampled_from(["@", "＠", "(at)"])) + domain


@st.composite
def cards(draw: st.DrawFn) -> str:
    # Debit cards have 19 digits (written 4-4-4-4-3), credit cards 16; a few have 17 or 18.
    number = "62" + draw(numbers(draw(st.sampled_from([14, 15, 16, 17]))))
    # An 18-digit card whose digits read as a region, a birth date and a sequence is an ID
    # number as well; it is masked as one (the corpus holds such a case), so it is not drawn.
    assume(not READS_AS_AN_ID.fullmatch(number))
    groupings: list[tuple[int, ...]] = [(len(number),)]
    if len(number) in (16, 19):
        groupings.append((4, 4, 4, 4))
    return draw(written(number, groupings))


STREETS = ["观前", "人民", "建设", "中山", "东吴北", "干将西", "十全", "金鸡湖"]


@st.composite
def addresses(draw: st.DrawFn) -> str:
    house = str(draw(st.integers(1, 999)))
    if draw(st.booleans()):
        place = draw(st.sampled_from(STREETS)) + draw(st.sampled_from(["路", "街", "大道", "巷"]))
        place += draw(st.sampled_from(["", "甲", "乙"])) + house
        place += draw(st.sampled_from(["", "-1", "-12"])) + "号"
    else:
        place = draw(st.sampled_from(["张家", "李", "王家"])) + "村"
        place += draw(st.sampled_from(["", "3组", "12组"])) + house + "号"
    building = draw(st.sampled_from(["", "2幢", "3栋", "5号楼", "A座"]))
    unit = draw(st.sampled_from(["", "2单元"])) if building else ""
    room = draw(st.sampled_from(["", "301室", "1203室"]))
    return place + building + unit + room


KINDS = [
    (id_numbers(), ID_MASK),
    (mobiles(), PHONE_MASK),
    (landlines(), PHONE_MASK),
    (emails(), EMAIL_MASK),
    (cards(), CARD_MASK),
    (addresses(), ADDRESS_MASK),
]

# Ordinary text around the personal data: untouched phrases and plain words, then a
# delimiter, so that the data's edges are edges (an address's place name may otherwise
# continue the word before it).
WORDS = st.sampled_from([*UNTOUCHED, "联系人", "纳税人", "来电反映", "请核实", "已回访"])
BEFORE = st.tuples(
    st.lists(WORDS, max_size=4).map("，".join), st.sampled_from(["，", "：", " ", "（"])
)
AFTER = st.tuples(
    st.sampled_from(["，", "。", " ", "）", "；"]), st.lists(WORDS, max_size=4).map("，".join)
)


@settings(max_examples=600, deadline=None)
@given(
    before=BEFORE.map("".join),
    kind=st.sampled_from(range(len(KINDS))),
    data=st.data(),
    after=AFTER.map("".join),
)
def test_inserted_personal_data_is_gone_and_the_text_around_it_kept(
    before: str, kind: int, data: st.DataObject, after: str
) -> None:
    strategy, mask = KINDS[kind]
    secret = data.draw(strategy, label="secret")
    masked = mask_personal_data(before + secret + after)
    assert masked == before + mask + after
    assert leaked_digits(before, secret, after, masked) == set()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(UNTOUCHED), max_size=8), st.sampled_from(["，", "；", "\n", "。"]))
def test_ordinary_phrases_together_are_left_alone(phrases: list[str], joint: str) -> None:
    text = joint.join(phrases)
    assert mask_personal_data(text) == text


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_masking_is_idempotent(text: str) -> None:
    once = mask_personal_data(text)
    assert mask_personal_data(once) == once


@pytest.mark.parametrize(
    "unit", ["1900-2100 010-3000000，", "1300 0000 010 2019-2026年", "2026-11-20 13900001111 "]
)
def test_masking_time_grows_with_the_text_not_its_square(unit: str) -> None:
    # Numbers glued to other numbers are the masker's slow path (it looks for a number in
    # any grouping across their ends); a hostile text made only of them must stay linear.
    def seconds(repeats: int) -> float:
        text = unit * repeats
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            masked = mask_personal_data(text)
            best = min(best, time.perf_counter() - started)
        assert masked.count(PHONE_MASK) == repeats
        return best

    assert seconds(8000) < 10 * seconds(2000)
