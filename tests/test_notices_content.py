"""What a notice says and what it must never say: figures, costly indicators, no identifiers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from bot.core.reply import html_to_plain
from bot.services import Services
from db.schema import upgrade  # noqa: F401 - the engine fixture migrates
from knowledge.privacy import ADDRESS_MASK, ID_MASK, PHONE_MASK
from scoring.notices import build_notice_content
from scoring.queries import rank_period
from tests.notices_helpers import (
    ID_NUMBER,
    MONTH,
    PHONE,
    Clock,
    lifecycle,
    notice_settings,
    seed_month,
)
from tests.privacy_helpers import carries_digits_of

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
    report = lifecycle(services, Clock()).run_month(MONTH, source="test")
    by_unit = {n.unit_code: n for n in report.notices}
    assert set(by_unit) == {"NB03", "GS01"}
    gs01 = html_to_plain(by_unit["GS01"].text)
    assert "得分：82 分，第 1 名 / 共 1 个单位" in gs01
    assert "再提高 3 分方可脱离预警" in gs01
    assert "得分低于预警线 85 分。" in gs01
    # The two costliest indicators, largest first, with their rule text.
    assert gs01.index("【DL-01】税收收入完成率：失 10 分") < gs01.index("【DL-04】")
    assert "评分标准：按“本年累计实际入库税收收入" in gs01
    assert "请于 2026-03-12 前" in gs01
    nb03 = html_to_plain(by_unit["NB03"].text)
    assert "低于分组平均分（99.33 分）2.33 分" in nb03
    assert "至少再提高 3 分以上方可脱离末位" in nb03
    for text in (gs01, nb03):
        assert not carries_digits_of(text, ID_NUMBER)
        assert not carries_digits_of(text, PHONE)
        assert "东吴北路" not in text
    assert f"台账记录：住址{ADDRESS_MASK}的纳税人投诉" in gs01
    services.close()
