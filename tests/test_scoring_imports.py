"""``kpibot units|ledger|reviews import`` against real files and a real database."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from db import scoring_store
from tests.cli_helpers import kpibot
from tests.scoring_helpers import (
    TODAY_ARG,
    UNITS,
    counts,
    ledger,
    load_sample,
    setup_units,
    write_csv,
    write_xlsx,
)

HEADER = ["日期", "单位", "指标", "分值", "说明", "来源", "录入人", "编号"]


def rank_json(database_url: str, period: str = "2026-Q2") -> dict[str, object]:
    run = kpibot(database_url, "rank", "--period", period, "--json", *TODAY_ARG)
    assert run.code == 0, run.err
    data: dict[str, object] = json.loads(run.out)
    return data


def score_of(database_url: str, unit: str, period: str = "2026-Q2") -> float:
    run = kpibot(database_url, "score", unit, "--period", period, "--json", *TODAY_ARG)
    assert run.code == 0, run.err
    value = json.loads(run.out)["score"]
    assert isinstance(value, float)
    return value


# ---------------------------------------------------------------- units


def test_units_gbk_csv_then_reimport_updates(database_url: str, tmp_path: Path) -> None:
    load_sample(database_url)
    path = write_csv(tmp_path / "units.csv", UNITS, encoding="gbk")
    run = kpibot(database_url, "units", "import", str(path))
    assert (run.code, run.out.strip()) == (
        0,
        "已导入 units.csv：新增 5 个单位，更新 0 个，未变 0 个。",
    )
    renamed = [*UNITS[:2], ["GS02", "法制股（新）", "股室"], *UNITS[3:]]
    run = kpibot(database_url, "units", "import", str(write_csv(tmp_path / "u2.csv", renamed)))
    assert run.out.strip() == "已导入 u2.csv：新增 0 个单位，更新 1 个，未变 4 个。"
    listed = json.loads(kpibot(database_url, "units", "list", "--json").out)
    assert listed[1] == {"code": "GS02", "name": "法制股（新）", "group": "股室"}


def test_units_problems_are_all_listed(database_url: str, tmp_path: Path) -> None:
    load_sample(database_url)
    rows = [
        ["code", "name", "group"],
        ["GS01", "办公室", "股室"],
        ["GS 02", "法制股", "股室"],
        ["gs01", "重复", "股室"],
        ["GS03", "", ""],
    ]
    run = kpibot(database_url, "units", "import", str(write_csv(tmp_path / "u.csv", rows)))
    assert run.code == 1
    assert run.err.splitlines() == [
        "发现 4 个问题，未写入任何数据：",
        "  - u.csv 第3行 字段“编码”：编码“GS 02”格式不正确（字母、数字、-、_、.，最长 32 位）",
        "  - u.csv 第4行 字段“编码”：编码“gs01”与第2行编码相同但内容不同，无法判断以哪一行为准",
        "  - u.csv 第5行 字段“名称”：名称为空",
        "  - u.csv 第5行 字段“分组”：分组为空",
    ]
    assert counts(database_url) == (0, 0, 0)


# ---------------------------------------------------------------- ledger: formats


def test_ledger_gbk_csv_with_every_date_spelling(database_url: str, tmp_path: Path) -> None:
    setup_units(database_url, tmp_path)
    rows = [
        HEADER,
        ["2026-04-05", "GS01", "KF-01", "1", "信访投诉一起", "督查室", "张三", "A1"],
        ["2026/4/6", "法制股", "信访投诉", "1", "", "", "", "A2"],
        ["2026年4月7日", "gs03", "jf-01", "2", "经验推广", "", "", "A3"],
        ["2026.4.8", "PC01", "DL-01", "12", "收入完成率未达序时", "", "", ""],
    ]
    run = ledger(database_url, write_csv(tmp_path / "台账.csv", rows, encoding="gbk"))
    assert (run.code, run.out.strip()) == (0, "已导入 台账.csv：共 4 行，新增 4 条。")
    assert counts(database_url) == (5, 4, 0)
    assert score_of(database_url, "GS01") == 99.0
    assert score_of(database_url, "GS02") == 99.0  # resolved by name: 法制股 / 信访投诉
    assert score_of(database_url, "GS03") == 102.0
    assert score_of(database_url, "PC01") == 90.0  # 定量 loses at most its full 10 points
    entries = json.loads(kpibot(database_url, "ledger", "list", "--unit", "GS01", "--json").out)
    assert entries[0] | {"recorded_at": None} == {
        "id": 1,
        "date": "2026-04-05",
        "unit": "GS01",
        "indicator": "KF-01",
        "points": 1.0,
        "note": "信访投诉一起",
        "source": "督查室",
        "entered_by": "张三",
        "external_id": "A1",
        "reverses": None,
        "recorded_at": None,
    }
    second = json.loads(kpibot(database_url, "ledger", "list", "--unit", "GS02", "--json").out)
    assert (second[0]["source"], second[0]["entered_by"]) == ("台账.csv", "cli")


def test_ledger_bom_csv_with_english_headers(database_url: str, tmp_path: Path) -> None:
    setup_units(database_url, tmp_path)
    rows = [
        ["date", "unit", "indicator", "points", "note", "external_id"],
        ["2026-05-01", "GS01", "KF-02", "0.5", "note", "B1"],
        ["2026-05-02", "GS01", "KF-02", "0.25", "", "B2"],
    ]
    run = ledger(
        database_url, write_csv(tmp_path / "l.csv", rows, encoding="utf-8-sig"), "--by", "李四"
    )
    assert run.code == 0, run.err
    assert score_of(database_url, "GS01") == 99.25
    listed = json.loads(kpibot(database_url, "ledger", "list", "--json").out)
    assert {e["entered_by"] for e in listed} == {"李四"}


def test_ledger_xlsx_with_shuffled_and_extra_columns(database_url: str, tmp_path: Path) -> None:
    setup_units(database_url, tmp_path)
    rows: list[list[Any]] = [
        ["备注列", "分值", "编号", "指标", "单位", "日期", "说明"],
        ["忽略", 1.5, 1001, "KF-01", "GS02", datetime(2026, 4, 10), "Excel 日期单元格"],
        ["忽略", 0.1, 1002, "JF-10", "GS02", date(2026, 4, 11), "小数分值"],
        [None, None, None, None, None, None, None],
        ["忽略", 2, "X-3", "KF-01", "GS02", "2026-04-12", "文本日期"],
    ]
    run = ledger(database_url, write_xlsx(tmp_path / "ledger.xlsx", rows, sheet="积分台账"))
    assert (run.code, run.out.strip()) == (0, "已导入 ledger.xlsx：共 3 行，新增 3 条。")
    assert score_of(database_url, "GS02") == 96.6  # 100 − 3.5 + 0.1
    listed = json.loads(kpibot(database_url, "ledger", "list", "--json").out)
    assert sorted(e["external_id"] for e in listed) == ["1001", "1002", "X-3"]


# ---------------------------------------------------------------- ledger: refusals


def test_missing_column_is_refused(database_url: str, tmp_path: Path) -> None:
    setup_units(database_url, tmp_path)
    rows = [["日期", "单位", "分值"], ["2026-04-05", "GS01", "1"]]
    run = ledger(database_url, write_csv(tmp_path / "l.csv", rows))
    assert run.code == 1
    assert run.err.splitlines() == [
        "发现 1 个问题，未写入任何数据：",
        "  - l.csv 第1行 字段“指标”：缺少必需的列",
    ]


def test_every_bad_row_is_listed_and_nothing_is_written(database_url: str, tmp_path: Path) -> None:
    setup_units(database_url, tmp_path)
    rows = [
        HEADER,
        ["2026-04-05", "GS01", "KF-01", "1", "好的一行", "", "", "C1"],
        ["2026-04-31", "GS99", "KF-01", "1", "", "", "", "C2"],
        ["昨天", "GS01", "ZZ-01", "abc", "", "", "", "C3"],
        ["2026-04-06", "GS01", "KF-01", "0.125", "", "", "", "C1"],
        ["2026-07-01", "GS01", "KF-01", "0", "", "", "", ""],
        ["", "", "", "", "只有说明", "", "", ""],
    ]
    run = ledger(database_url, write_csv(tmp_path / "bad.csv", rows))
    assert run.code == 1
    assert run.err.splitlines() == [
        "发现 12 个问题，未写入任何数据：",
        "  - bad.csv 第3行 字段“日期”：“2026-04-31”不是有效日期（4月31日不存在）",
        "  - bad.csv 第3行 字段“单位”：未知单位“GS99”",
        "  - bad.csv 第4行 字段“日期”："
        "“昨天”不是有效日期（应如 2026-03-05、2026/3/5 或 2026年3月5日）",
        "  - bad.csv 第4行 字段“指标”：未知指标“ZZ-01”",
        "  - bad.csv 第4行 字段“分值”：分值“abc”不是有效数字",
        "  - bad.csv 第5行 字段“分值”：分值“0.125”超过两位小数",
        "  - bad.csv 第6行 字段“日期”：日期 2026-07-01 晚于今天，不能预先记分",
        "  - bad.csv 第6行 字段“分值”：分值“0”不能为 0",
        "  - bad.csv 第7行 字段“日期”：日期为空",
        "  - bad.csv 第7行 字段“单位”：单位为空",
        "  - bad.csv 第7行 字段“指标”：指标为空",
        "  - bad.csv 第7行 字段“分值”：分值为空",
    ]
    assert counts(database_url) == (5, 0, 0)


def test_wrong_encoding_is_refused(database_url: str, tmp_path: Path) -> None:
    setup_units(database_url, tmp_path)
    path = tmp_path / "l.csv"
    path.write_bytes(
        "日期,单位,指标,分值\n2026-04-05,GS01,KF-01,1\n".encode() + b"\xff\xfe\xff,x\n"
    )
    run = ledger(database_url, path)
    assert run.code == 1
    assert "无法识别文件编码（支持 UTF-8、UTF-8 BOM、GBK/GB18030）" in run.err
    assert counts(database_url) == (5, 0, 0)


def test_unsupported_file_type_and_missing_file(database_url: str, tmp_path: Path) -> None:
    setup_units(database_url, tmp_path)
    (tmp_path / "l.json").write_text("{}", encoding="utf-8")
    assert "不支持的文件类型" in ledger(database_url, tmp_path / "l.json").err
    assert "文件不存在" in ledger(database_url, tmp_path / "none.csv").err


def test_retired_indicator_refuses_new_points(database_url: str, tmp_path: Path) -> None:
    setup_units(database_url, tmp_path)
    smaller = tmp_path / "small.yaml"
    smaller.write_text(
        "title: t\nyear: 2026\nindicators:\n"
        "  - {code: KF-01, name: 信访投诉, type: 减分项, points: 1}\n",
        encoding="utf-8",
    )
    assert kpibot(database_url, "rulebook", "import", str(smaller), "--retire-missing").code == 0
    rows = [HEADER[:4], ["2026-04-05", "GS01", "KF-02", "1"]]
    run = ledger(database_url, write_csv(tmp_path / "l.csv", rows))
    assert "指标“KF-02”已停用，不能再记分" in run.err


# ---------------------------------------------------------------- ledger: idempotence


def test_reimport_is_idempotent_and_counts_the_skipped(database_url: str, tmp_path: Path) -> None:
    setup_units(database_url, tmp_path)
    rows = [
        HEADER,
        ["2026-04-05", "GS01", "KF-01", "1", "", "", "", "E1"],
        ["2026-04-06", "GS01", "JF-01", "1", "", "", "", "E2"],
        ["2026-04-07", "GS02", "KF-01", "2", "", "", "", "E3"],
    ]
    path = write_csv(tmp_path / "l.csv", rows)
    assert ledger(database_url, path).out.strip() == "已导入 l.csv：共 3 行，新增 3 条。"
    before = rank_json(database_url)
    run = ledger(database_url, path)
    assert run.out.strip() == (
        "已导入 l.csv：共 3 行，新增 0 条，跳过 3 条（编号已导入过，不重复计分：E1、E2、E3）。"
    )
    assert rank_json(database_url) == before
    assert counts(database_url) == (5, 3, 0)
    grown = write_csv(
        tmp_path / "l2.csv", [*rows, ["2026-04-08", "GS03", "KF-01", "1", "", "", "", "E4"]]
    )
    run = ledger(database_url, grown)
    assert run.out.strip() == (
        "已导入 l2.csv：共 4 行，新增 1 条，跳过 3 条（编号已导入过，不重复计分：E1、E2、E3）。"
    )
    assert counts(database_url) == (5, 4, 0)


def test_rows_without_external_id_are_always_added(database_url: str, tmp_path: Path) -> None:
    setup_units(database_url, tmp_path)
    path = write_csv(tmp_path / "l.csv", [HEADER[:4], ["2026-04-05", "GS01", "KF-01", "1"]])
    ledger(database_url, path)
    ledger(database_url, path)
    assert counts(database_url) == (5, 2, 0)


# ---------------------------------------------------------------- reviews


def test_reviews_import_reimport_and_change(database_url: str, tmp_path: Path) -> None:
    setup_units(database_url, tmp_path)
    rows = [["年度", "单位", "评议得分"], ["2026", "GS01", "90"], ["2026年", "法制股", "80.5"]]
    path = write_csv(tmp_path / "r.csv", rows, encoding="gbk")
    run = kpibot(database_url, "reviews", "import", str(path))
    assert run.out.strip() == (
        "已导入 r.csv：共 2 行，新增 2 条，更新 0 条（原分数保留在记录中），跳过 0 条（分数未变）。"
    )
    run = kpibot(database_url, "reviews", "import", str(path))
    assert "新增 0 条，更新 0 条（原分数保留在记录中），跳过 2 条" in run.out
    changed = write_xlsx(tmp_path / "r.xlsx", [["year", "unit", "score"], [2026, "GS01", 95]])
    run = kpibot(database_url, "reviews", "import", str(changed))
    assert "新增 0 条，更新 1 条" in run.out
    assert counts(database_url) == (5, 0, 3)
    # year 2026 as of 2026-06-30: Q1 and Q2 score 100 each; 0.8 × 100 + 0.2 × 95 = 99
    assert score_of(database_url, "GS01", "2026") == 99.0
    assert score_of(database_url, "GS02", "2026") == 96.1


def test_bad_reviews_are_refused(database_url: str, tmp_path: Path) -> None:
    setup_units(database_url, tmp_path)
    rows = [
        ["年度", "单位", "评议得分"],
        ["1999", "GS01", "90"],
        ["2026", "GS01", "100.5"],
        ["2026", "GS02", "abc"],
        ["2026", "GS03", "90"],
        ["2026", "GS03", "91"],
    ]
    run = kpibot(database_url, "reviews", "import", str(write_csv(tmp_path / "r.csv", rows)))
    assert run.code == 1
    assert run.err.splitlines()[1:] == [
        "  - r.csv 第2行 字段“年度”：年度“1999”超出范围（应为 2000–2100）",
        "  - r.csv 第3行 字段“评议得分”：评议得分“100.5”超出范围（应为 0–100）",
        "  - r.csv 第4行 字段“评议得分”：评议得分“abc”不是有效数字",
        "  - r.csv 第6行 字段“单位”：2026 年度“GS03”的评议与第5行分数不同，无法判断以哪一行为准",
    ]
    assert counts(database_url) == (5, 0, 0)


def test_a_racing_duplicate_is_refused_by_the_database(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If another import records the same external id between check and insert, the
    unique constraint refuses the whole file (as if the check had found it)."""
    setup_units(database_url, tmp_path)
    path = write_csv(
        tmp_path / "l.csv", [HEADER, ["2026-04-05", "GS01", "KF-01", "1", "", "", "", "R1"]]
    )
    assert ledger(database_url, path).code == 0
    monkeypatch.setattr(scoring_store, "existing_external_ids", lambda **_: set())
    grown = write_csv(
        tmp_path / "l2.csv",
        [
            HEADER,
            ["2026-04-06", "GS02", "KF-01", "1", "", "", "", "R2"],
            ["2026-04-05", "GS01", "KF-01", "1", "", "", "", "R1"],
        ],
    )
    run = ledger(database_url, grown)
    assert run.code == 1
    assert "写入时编号与同时进行的另一次导入冲突，已全部撤销，请重新导入" in run.err
    assert counts(database_url) == (5, 1, 0)
