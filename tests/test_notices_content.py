"""What a notice says and what it must never say: figures, costly indicators, masking."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.reply import html_to_plain
from bot.rectification import Rectification
from bot.services import Services
from db.schema import upgrade  # noqa: F401 - the engine fixture migrates
from scoring.notices import (
    ADDRESS_MASK,
    ID_MASK,
    NUMBER_MASK,
    PHONE_MASK,
    build_notice_content,
    mask_identifiers,
)
from scoring.queries import rank_period
from tests.notices_helpers import (
    ID_NUMBER,
    MONTH,
    PHONE,
    Clock,
    notice_settings,
    seed_month,
)

# ---------------------------------------------------------------- masking by example


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("身份证320506199001011234号", f"身份证{ID_MASK}号"),
        ("证件 32050619900101123X。", f"证件 {ID_MASK}。"),
        ("证件 32050619900101123x", f"证件 {ID_MASK}"),
        ("3205 0619 9001 0112 34", ID_MASK),
        ("旧证320506900101123", f"旧证{ID_MASK}"),
        ("电话13812345678", f"电话{PHONE_MASK}"),
        ("电话 +86 138-1234-5678 转", f"电话 {PHONE_MASK} 转"),
        ("手机（+86）139 1234 5678", f"手机{PHONE_MASK}"),
        ("手机０８６１３９１２３４５６７８", "手机" + NUMBER_MASK),
        ("+8613912345678", PHONE_MASK),
        ("１３８１２３４５６７８", PHONE_MASK),
        ("座机0512-12345678", f"座机{PHONE_MASK}"),
        ("座机（0512）12345678", f"座机{PHONE_MASK}"),
        ("北京 010-87654321", f"北京 {PHONE_MASK}"),
        ("住址：苏州市吴中区东吴北路88号3栋201室，来电", f"住址：{ADDRESS_MASK}，来电"),
        ("家住苏州市吴中区东吴北路88号", f"家住{ADDRESS_MASK}"),
        ("木渎镇金山路12号", ADDRESS_MASK),
        ("长江路100弄5号", ADDRESS_MASK),
        ("住在3栋2单元501室", f"住在{ADDRESS_MASK}"),
        ("阳光花园5栋", ADDRESS_MASK),
        # Nothing personal: left alone.
        ("市局通报表扬", "市局通报表扬"),
        ("区局检查扣2分", "区局检查扣2分"),
        ("收入完成率95.5%，2026年3月，扣0.5分", "收入完成率95.5%，2026年3月，扣0.5分"),
        ("第12号文件", "第12号文件"),
    ],
)
def test_identifiers_are_masked(text: str, expected: str) -> None:
    assert mask_identifiers(text) == expected


# ---------------------------------------------------------------- masking, property-based

DIGITS = "0123456789"
SEPARATORS = st.sampled_from(["", " ", "-"])
# Surrounding text without digits or Latin letters, so the identifier's edges stay edges.
FILLER = st.text(
    alphabet=st.sampled_from(list("的了是在有纳税人申报逾期，。：；、（） 市局分扣表扬")),
    max_size=12,
)


@st.composite
def id_numbers(draw: st.DrawFn) -> str:
    body = draw(st.text(alphabet=DIGITS, min_size=17, max_size=17))
    last = draw(st.sampled_from(list(DIGITS + "Xx")))
    sep = draw(SEPARATORS)
    number = body + last
    return sep.join((number[:6], number[6:14], number[14:]))


@st.composite
def mobiles(draw: st.DrawFn) -> str:
    second = draw(st.sampled_from(list("3456789")))
    rest = draw(st.text(alphabet=DIGITS, min_size=9, max_size=9))
    number = "1" + second + rest
    sep = draw(SEPARATORS)
    prefix = draw(st.sampled_from(["", "+86", "+86 ", "86-", "0086 "]))
    return prefix + sep.join((number[:3], number[3:7], number[7:]))


@st.composite
def landlines(draw: st.DrawFn) -> str:
    area = "0" + draw(st.text(alphabet=DIGITS, min_size=2, max_size=3))
    local = draw(st.text(alphabet="123456789", min_size=1, max_size=1)) + draw(
        st.text(alphabet=DIGITS, min_size=7, max_size=7)
    )
    return area + draw(st.sampled_from(["-", "", " "])) + local


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


@settings(max_examples=300, deadline=None)
@given(before=FILLER, secret=st.one_of(id_numbers(), mobiles(), landlines()), after=FILLER)
def test_no_identifier_survives_in_any_surrounding(before: str, secret: str, after: str) -> None:
    masked = mask_identifiers(before + secret + after)
    assert _digits(secret) not in _digits(masked)
    assert masked.startswith(before.rstrip()[: max(0, len(before) - 4)])


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_masking_is_idempotent(text: str) -> None:
    once = mask_identifiers(text)
    assert mask_identifiers(once) == once


WORDS = [
    "纳税人",
    "申报逾期",
    "扣0.5分",
    "表扬",
    "95.5%",
    "2026年3月",
    "第12号文件",
    "，",
    "市局",
    "区局",
]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=12).map("".join))
def test_plain_text_is_left_alone(text: str) -> None:
    assert mask_identifiers(text) == text


# ---------------------------------------------------------------- the notice's figures


def test_notice_content_has_the_gaps_and_the_costliest_indicators(database_url: str) -> None:
    services = Services(notice_settings(database_url))
    seed_month(services)
    with services.session() as session:
        ranking = rank_period(session=session, period=MONTH, today=date(2026, 3, 2))
    group = next(g for g in ranking.groups if g.group == "派出机构")
    unit = next(u for u in group.units if u.unit_code == "NB03")
    content = build_notice_content(
        month=MONTH,
        group=group,
        unit=unit,
        detail=ranking.scores["NB03"].detail,
        texts={},
        notes={"DL-01": [f"身份证{ID_NUMBER}，电话{PHONE}"]},
        alert_threshold=Decimal(85),
        deadline=date(2026, 3, 12),
    )
    assert (content.score, content.rank, content.group_size) == (Decimal("97.00"), 3, 3)
    # (101 + 100 + 97) / 3 = 99.333…: 2.33 below the average.
    assert (content.group_average, content.below_average) == (Decimal("99.33"), Decimal("2.33"))
    # Leaving the bottom means scoring above NB02's 100: more than 3 points.
    assert (content.to_leave_bottom, content.leave_strictly) == (Decimal("3.00"), True)
    assert [(c.code, c.points) for c in content.costs] == [("DL-01", Decimal("3.00"))]
    assert content.costs[0].notes == (f"身份证{ID_MASK}，电话{PHONE_MASK}",)
    assert content.as_json()["score"] == "97.00"
    services.close()


def test_rendered_notices_carry_no_identifiers(database_url: str) -> None:
    services = Services(notice_settings(database_url))
    seed_month(services)
    report = Rectification(services, now=Clock()).run_month(MONTH, source="test")
    by_unit = {n.unit_code: n for n in report.notices}
    assert set(by_unit) == {"NB03", "GS01"}
    gs01 = html_to_plain(by_unit["GS01"].text)
    assert "得分：82 分，第 1 名 / 共 1 个单位" in gs01
    assert "再提高 3 分方可脱离末位" in gs01
    assert "得分低于预警线 85 分。" in gs01
    # The two costliest indicators, largest first, with their rule text.
    assert gs01.index("【DL-01】税收收入完成率：失 10 分") < gs01.index("【DL-04】")
    assert "评分标准：按“本年累计实际入库税收收入" in gs01
    assert "请于 2026-03-12 前" in gs01
    nb03 = html_to_plain(by_unit["NB03"].text)
    assert "低于分组平均分（99.33 分）2.33 分" in nb03
    assert "至少再提高 3 分以上方可脱离末位" in nb03
    for text in (gs01, nb03):
        assert _digits(ID_NUMBER[:-1]) not in _digits(text)
        assert _digits(PHONE) not in _digits(text)
        assert "东吴北路" not in text
    assert f"台账记录：住址{ADDRESS_MASK}的纳税人投诉" in gs01
    services.close()
