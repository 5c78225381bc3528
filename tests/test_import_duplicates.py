"""Rows given twice: same 编号 and content is skipped and counted; other content, a conflict."""

from __future__ import annotations

from pathlib import Path

from tests.cli_helpers import kpibot
from tests.scoring_helpers import counts, ledger, load_sample, setup_units, write_csv

HEADER = ["日期", "单位", "指标", "分值", "说明", "编号"]


def test_identical_rows_in_one_file_are_recorded_once(database_url: str, tmp_path: Path) -> None:
    setup_units(database_url, tmp_path)
    row = ["2026-04-05", "GS01", "KF-01", "1", "迟报", "E1"]
    rows = [HEADER, row, ["2026-04-06", "GS02", "KF-01", "2", "", "E2"], row, row]
    run = ledger(database_url, write_csv(tmp_path / "l.csv", rows))
    assert run.code == 0, run.err
    assert run.out.strip() == (
        "已导入 l.csv：共 4 行，新增 2 条，文件内重复 2 行（编号与内容均相同）已跳过。"
    )
    assert counts(database_url)[1] == 2


def test_same_id_with_other_content_in_one_file_is_a_conflict(
    database_url: str, tmp_path: Path
) -> None:
    setup_units(database_url, tmp_path)
    rows = [
        HEADER,
        ["2026-04-05", "GS01", "KF-01", "1", "迟报", "E1"],
        ["2026-04-05", "GS01", "KF-01", "1.5", "迟报", "E1"],
    ]
    run = ledger(database_url, write_csv(tmp_path / "l.csv", rows))
    assert (run.code, run.err.splitlines()) == (
        1,
        [
            "发现 1 个问题，未写入任何数据：",
            "  - l.csv 第3行 字段“编号”：编号“E1”与第2行编号相同但内容不同，无法判断以哪一行为准",
        ],
    )
    assert counts(database_url)[1] == 0


def test_recorded_id_with_other_content_is_a_conflict(database_url: str, tmp_path: Path) -> None:
    setup_units(database_url, tmp_path)
    first = [HEADER, ["2026-04-05", "GS01", "KF-01", "1", "迟报", "E1"]]
    assert ledger(database_url, write_csv(tmp_path / "a.csv", first)).code == 0
    same = [HEADER, ["2026-04-05", "GS01", "KF-01", "1", "迟报", "E1"]]
    again = ledger(database_url, write_csv(tmp_path / "b.csv", same))
    assert again.out.strip() == (
        "已导入 b.csv：共 1 行，新增 0 条，跳过 1 条（编号已导入过，不重复计分：E1）。"
    )
    changed = [
        HEADER,
        ["2026-04-07", "GS02", "KF-01", "3", "新的", "E9"],
        ["2026-04-05", "GS01", "KF-01", "10", "迟报", "E1"],
    ]
    run = ledger(database_url, write_csv(tmp_path / "c.csv", changed))
    assert (run.code, run.err.splitlines()) == (
        1,
        [
            "发现 1 个问题，未写入任何数据：",
            "  - c.csv 第3行 字段“编号”：编号“E1”已记入第 1 条台账"
            "（2026-04-05 GS01 KF-01 1.00 分），本行内容不同；"
            "台账只追加不修改，如需更正请冲正原记录后用新编号录入",
        ],
    )
    assert counts(database_url)[1] == 1


def test_units_and_reviews_skip_identical_rows_and_refuse_conflicts(
    database_url: str, tmp_path: Path
) -> None:
    load_sample(database_url)
    units = [["编码", "名称", "分组"], ["GS01", "办公室", "股室"], ["GS01", "办公室", "股室"]]
    run = kpibot(database_url, "units", "import", str(write_csv(tmp_path / "u.csv", units)))
    assert run.out.strip() == (
        "已导入 u.csv：新增 1 个单位，更新 0 个，未变 0 个，文件内重复 1 行（内容相同）已跳过。"
    )
    clash = [*units, ["GS01", "办公室（新）", "股室"]]
    run = kpibot(database_url, "units", "import", str(write_csv(tmp_path / "u2.csv", clash)))
    assert run.err.splitlines()[1:] == [
        "  - u2.csv 第4行 字段“编码”：编码“GS01”与第2行编码相同但内容不同，无法判断以哪一行为准"
    ]
    reviews = [["年度", "单位", "评议得分"], ["2026", "GS01", "90"], ["2026", "GS01", "90.00"]]
    run = kpibot(database_url, "reviews", "import", str(write_csv(tmp_path / "r.csv", reviews)))
    assert run.out.strip() == (
        "已导入 r.csv：共 1 行，新增 1 条，更新 0 条（原分数保留在记录中），"
        "跳过 0 条（分数未变），文件内重复 1 行（内容相同）已跳过。"
    )
    assert counts(database_url) == (1, 0, 1)


def test_rulebook_keeps_an_indicator_given_twice_once(database_url: str, tmp_path: Path) -> None:
    item = "  - {code: A-01, name: 一, type: 加分项, points: 1}\n"
    path = tmp_path / "r.yaml"
    path.write_text("title: t\nindicators:\n" + item + item, encoding="utf-8")
    run = kpibot(database_url, "rulebook", "check", str(path))
    assert run.out.splitlines() == [
        "r.yaml：校验通过，共 1 项指标（加分项 1 项）。",
        "文件内重复 1 项（编码与内容均相同），已只保留一次。",
    ]
    path.write_text(
        "title: t\nindicators:\n" + item + item.replace("points: 1", "points: 2"),
        encoding="utf-8",
    )
    run = kpibot(database_url, "rulebook", "check", str(path))
    assert run.err.splitlines()[1:] == [
        "  - r.yaml 第4行 字段“code”：编码“A-01”与第3行编码相同但内容不同，无法判断以哪一行为准"
    ]
