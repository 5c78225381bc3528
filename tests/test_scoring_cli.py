"""``kpibot rank|score|ledger add|reverse|demo``: shapes, values and refusals end to end."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine

from db.models import metadata
from knowledge.rulebook_files import read_rulebook
from scoring.demo_data import generate_demo
from tests.cli_helpers import kpibot
from tests.conftest import SAMPLE_RULEBOOK
from tests.scoring_helpers import TODAY_ARG, counts, ledger, setup_units, write_csv

LEDGER = [
    ["日期", "单位", "指标", "分值", "说明", "编号"],
    # 2026-Q1
    ["2026-01-10", "GS01", "KF-01", "1", "通报批评一次", "Q1-1"],
    ["2026-02-10", "GS02", "KF-01", "8", "通报批评多次（上限 6）", "Q1-2"],
    ["2026-02-11", "GS02", "JF-01", "1", "创建达标", "Q1-3"],
    ["2026-03-31", "GS03", "DL-01", "12", "收入完成率（最多扣 10）", "Q1-4"],
    ["2026-01-15", "PC01", "JF-01", "5", "", "Q1-5"],
    ["2026-01-16", "PC01", "JF-02", "3", "", "Q1-6"],
    ["2026-01-17", "PC01", "JF-04", "3", "", "Q1-7"],
    ["2026-01-18", "PC01", "JF-05", "3", "", "Q1-8"],
    # 2026-Q2
    ["2026-04-02", "GS01", "KF-01", "1", "", "Q2-1"],
    ["2026-05-02", "GS03", "KF-01", "1", "", "Q2-2"],
    ["2026-06-30", "PC01", "KF-17", "16", "", "Q2-3"],
]


@pytest.fixture
def url(database_url: str, tmp_path: Path) -> str:
    """A database with the sample rulebook, five units and the ledger above."""
    setup_units(database_url, tmp_path)
    run = ledger(database_url, write_csv(tmp_path / "ledger.csv", LEDGER))
    assert run.code == 0, run.err
    return database_url


def run_json(url: str, *args: str) -> Any:
    run = kpibot(url, *args, "--json", *TODAY_ARG)
    assert run.code == 0, run.err
    return json.loads(run.out)


def unit(
    rank: int, code: str, name: str, score: float, bottom: bool, alert: bool = False
) -> dict[str, Any]:
    return {
        "rank": rank,
        "unit": code,
        "name": name,
        "score": score,
        "bottom": bottom,
        "alert": alert,
    }


# ---------------------------------------------------------------- rank


def test_quarter_ranking_json(url: str) -> None:
    assert run_json(url, "rank", "--period", "2026-Q2") == {
        "period": "2026-Q2",
        "label": "2026年第二季度",
        "counted": ["2026-Q2"],
        "provisional": True,  # 2026-06-30 is its last day, not yet over
        "as_of": "2026-06-30",
        "groups": [
            {
                "group": "股室",
                "units": [
                    unit(1, "GS02", "法制股", 100.0, False),
                    unit(2, "GS01", "办公室", 99.0, True),  # tied at the bottom line
                    unit(2, "GS03", "税政股", 99.0, True),
                ],
            },
            {
                "group": "派出机构",
                "units": [
                    unit(1, "PC02", "开发区税务分局", 100.0, False),
                    unit(2, "PC01", "城区税务分局", 84.0, True, alert=True),
                ],
            },
        ],
    }


def test_first_quarter_applies_caps_full_points_and_bonus_cap(url: str) -> None:
    data = run_json(url, "rank", "--period", "2026Q1")
    scores = {u["unit"]: u["score"] for g in data["groups"] for u in g["units"]}
    # GS02: KF-01 8 capped at 6, +1 bonus; GS03: 定量 12 → 10; PC01: 3+3+3+3 = 12 → bonus cap 10
    assert scores == {"GS01": 99.0, "GS02": 95.0, "GS03": 90.0, "PC01": 110.0, "PC02": 100.0}


def test_half_year_and_year_average_the_quarters(url: str) -> None:
    half = run_json(url, "rank", "--period", "2026-H1")
    assert [(u["unit"], u["score"]) for u in half["groups"][0]["units"]] == [
        ("GS01", 99.0),
        ("GS02", 97.5),
        ("GS03", 94.5),
    ]
    year = run_json(url, "rank", "--period", "2026", "--group", "派出机构")
    assert year["counted"] == ["2026-Q1", "2026-Q2"]  # Q3 and Q4 have not begun
    assert year["groups"] == [
        {
            "group": "派出机构",
            "units": [
                unit(1, "PC02", "开发区税务分局", 100.0, False) | {"review_missing": True},
                unit(2, "PC01", "城区税务分局", 97.0, True) | {"review_missing": True},
            ],
        }
    ]


def test_rank_text(url: str) -> None:
    run = kpibot(url, "rank", "-p", "上季度", "--today", "2026-07-15")
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    assert lines[0] == "2026年第二季度排名"
    assert lines[1] == "【股室】"
    assert lines[3].split() == ["2", "GS01", "办公室", "99.00", "⚠", "末位"]
    assert lines[-1].split() == [
        "2",
        "PC01",
        "城区税务分局",
        "84.00",
        "⚠",
        "末位，预警（低于",
        "85.00",
        "分）",
    ]


def test_rank_refusals(url: str) -> None:
    run = kpibot(url, "rank", "--period", "2026-Q3", *TODAY_ARG)
    assert (run.code, run.err.strip()) == (
        1,
        "2026年第三季度尚未开始（今天是 2026-06-30），暂无得分。",
    )
    run = kpibot(url, "rank", "--period", "下周", *TODAY_ARG)
    assert run.code == 1
    assert "无法识别的期间“下周”" in run.err
    run = kpibot(url, "rank", "--group", "科室", *TODAY_ARG)
    assert run.err.strip() == "没有分组“科室”（现有分组：股室、派出机构）。"


def test_rank_without_units_or_rulebook(database_url: str) -> None:
    run = kpibot(database_url, "rank", *TODAY_ARG)
    assert run.code == 1
    assert "还没有考评指标细则" in run.err


# ---------------------------------------------------------------- score


def test_score_json_explains_every_step(url: str) -> None:
    data = run_json(url, "score", "GS03", "--period", "2026-Q1")
    (line,) = data["indicators"]
    assert line | {"entries": None} == {
        "code": "DL-01",
        "name": "税收收入完成率",
        "type": "定量指标",
        "total": 12.0,
        "counted": 10.0,
        "effect": -10.0,
        "limit": "full_points",
        "limit_text": "定量指标最多扣完该项分值",
        "limit_value": 10.0,
        "entries": None,
    }
    assert [(e["date"], e["points"], e["external_id"]) for e in line["entries"]] == [
        ("2026-03-31", 12.0, "Q1-4")
    ]
    summary = {k: v for k, v in data.items() if k != "indicators"}
    assert summary == {
        "period": "2026-Q1",
        "label": "2026年第一季度",
        "unit": "GS03",
        "name": "税政股",
        "group": "股室",
        "score": 90.0,
        "rank": 3,
        "group_size": 3,
        "bottom": True,
        "bottom_by_rank": True,
        "alert": False,
        "below_alert": False,
        "provisional": False,
        "as_of": None,
        "alert_threshold": 85.0,
        "to_pass_above": {"target": 95.0, "strict": True, "points": 5.0},
        "above": {"unit": "GS02", "name": "法制股"},
        "to_leave_bottom": {"target": 95.0, "strict": True, "points": 5.0},
        "base": 100.0,
        "losses": 10.0,
        "deductions": 0.0,
        "bonuses": 0.0,
        "bonuses_before_cap": 0.0,
        "bonus_cap": 10.0,
        "unfloored": 90.0,
        "period_score": 90.0,
    }


def test_score_shows_the_bonus_cap_and_the_alert(url: str) -> None:
    q1 = run_json(url, "score", "城区税务分局", "--period", "2026-Q1")
    assert (q1["score"], q1["bonuses_before_cap"], q1["bonuses"]) == (110.0, 12.0, 10.0)
    assert q1["to_pass_above"] is None
    q2 = run_json(url, "score", "PC01", "--period", "2026-Q2")
    assert (q2["score"], q2["bottom_by_rank"], q2["below_alert"]) == (84.0, True, True)
    # reaching PC02's 100 ties the group of two, so nobody is bottom, and clears the alert line
    assert q2["to_leave_bottom"] == {"target": 100.0, "strict": False, "points": 16.0}


def test_score_year_without_review_is_marked(url: str) -> None:
    data = run_json(url, "score", "GS02", "--period", "2026")
    assert [(q["period"], q["period_score"]) for q in data["quarters"]] == [
        ("2026-Q1", 95.0),
        ("2026-Q2", 100.0),
    ]
    assert (data["score"], data["review"], data["review_missing"]) == (97.5, None, True)


def test_score_text(url: str) -> None:
    run = kpibot(url, "score", "GS02", "--period", "2026-Q1", *TODAY_ARG)
    assert run.code == 0, run.err
    assert run.out.splitlines() == [
        "法制股（GS02，股室）2026年第一季度：95.00 分，组内第 2 名 / 共 3 个",
        "基础分 100.00",
        "减分项：扣 6.00",
        "  KF-01 被上级通报批评：扣 6.00（合计 8.00，达到单项上限 6.00）",
        "      #2 2026-02-10    8.00  通报批评多次（上限 6）（录入：cli）",
        "加分项：加 1.00",
        "  JF-01 文明单位创建：加 1.00",
        "      #3 2026-02-11    1.00  创建达标（录入：cli）",
        "合计：100.00 − 0.00 − 6.00 + 1.00 = 95.00",
        "距上一名 办公室（GS01）：需超过 99.00 分，还差 4.00 分",
    ]


def test_score_unknown_unit(url: str) -> None:
    run = kpibot(url, "score", "GS99", *TODAY_ARG)
    assert (run.code, run.err.strip()) == (1, "未知单位“GS99”。可用 kpibot units list 查看单位。")


# ---------------------------------------------------------------- ledger add / reverse


def test_add_then_reverse_restores_the_score(url: str) -> None:
    run = kpibot(
        url, "ledger", "add", "GS02", "KF-01", "1.5", "--date", "2026-06-01",
        "--note", "被区局通报", "--by", "绩效办", *TODAY_ARG,
    )  # fmt: skip
    assert (
        run.out.strip()
        == "已记录第 12 条：GS02 · KF-01 被上级通报批评 · 扣 1.50 分（2026-06-01）。"
    )
    assert run_json(url, "score", "GS02", "-p", "2026-Q2")["score"] == 98.5
    run = kpibot(url, "ledger", "reverse", "12", "--note", "经复核撤销", "--by", "绩效办")
    assert (
        run.out.strip()
        == "已冲正第 12 条：新增第 13 条 GS02 · KF-01 被上级通报批评 · 更正 -1.50（2026-06-01）。"
    )
    assert run_json(url, "score", "GS02", "-p", "2026-Q2")["score"] == 100.0
    listed = run_json(url, "ledger", "list", "--unit", "GS02", "--limit", "2")
    assert [(e["id"], e["points"], e["reverses"], e["entered_by"]) for e in listed] == [
        (13, -1.5, 12, "绩效办"),
        (12, 1.5, None, "绩效办"),
    ]


def test_reverse_refusals(url: str) -> None:
    assert kpibot(url, "ledger", "reverse", "1", "--note", "撤销").code == 0
    twice = kpibot(url, "ledger", "reverse", "1", "--note", "再撤销")
    assert twice.code == 1
    assert "第 1 条已由第 12 条冲正（cli，" in twice.err
    reversal = kpibot(url, "ledger", "reverse", "12", "--note", "撤销冲正")
    assert "第 12 条本身是对第 1 条的冲正，不能再冲正" in reversal.err
    missing = kpibot(url, "ledger", "reverse", "999")
    assert missing.err.splitlines()[1:] == [
        "  - 录入内容 字段“说明”：请说明冲正原因",
        "  - 录入内容 字段“记录”：没有编号为 999 的台账记录",
    ]
    assert counts(url) == (5, 12, 0)


def test_add_lists_every_problem(url: str) -> None:
    run = kpibot(url, "ledger", "add", "GS99", "KF-99", "0.001", "--date", "2026-07-01", *TODAY_ARG)
    assert run.code == 1
    assert run.err.splitlines()[1:] == [
        "  - 录入内容 字段“单位”：未知单位“GS99”",
        "  - 录入内容 字段“指标”：未知指标“KF-99”",
        "  - 录入内容 字段“分值”：分值“0.001”超过两位小数",
        "  - 录入内容 字段“日期”：日期 2026-07-01 晚于今天，不能预先记分",
    ]
    assert counts(url) == (5, 11, 0)


def test_ledger_list_filters_by_period(url: str) -> None:
    listed = run_json(url, "ledger", "list", "--period", "2026-Q2")
    assert [e["external_id"] for e in listed] == ["Q2-3", "Q2-2", "Q2-1"]


# ---------------------------------------------------------------- demo and schema


def test_demo_data_is_deterministic_and_never_in_the_future() -> None:
    indicators = read_rulebook(SAMPLE_RULEBOOK).indicators
    today = date(2026, 5, 20)
    first = generate_demo(indicators, year=2026, today=today)
    assert first == generate_demo(indicators, year=2026, today=today)
    assert len(first.units) == 16
    assert {u.group for u in first.units} == {"股室", "派出机构"}
    assert max(e.entry_date for e in first.entries) <= today
    assert len({e.external_id for e in first.entries}) == len(first.entries)
    assert all(0 <= r.score_cents <= 10000 for r in first.reviews)


def test_demo_seeds_units_ledger_and_reviews_once(database_url: str) -> None:
    run = kpibot(database_url, "demo", stdin="/quit\n")
    assert run.code == 0, run.err
    assert "已生成示例考核数据：16 个单位、" in run.out
    units, entries, reviews = counts(database_url)
    assert (units, reviews) == (16, 16)
    assert entries > 300
    again = kpibot(database_url, "demo", stdin="/quit\n")
    assert "已生成示例考核数据" not in again.out
    assert counts(database_url) == (units, entries, reviews)
    for period in ("本季度", "上季度", "今年", "上半年"):
        assert kpibot(database_url, "rank", "-p", period).code == 0
    assert kpibot(database_url, "score", "GS06").code == 0


def test_migration_matches_the_scoring_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, metadata())
    mine = {"unit", "ledger_entry", "review"}
    assert [d for d in diffs if mine & set(str(d).split("'"))] == []
