"""Hostile files are refused with one clear Chinese sentence, fast and in little memory.

Each file is made under 10 MB by :mod:`tests.adversarial` and fed to the real ``kpibot``
command in a fresh process, whose wall time and peak resident memory are measured.
"""

from __future__ import annotations

from pathlib import Path

from tests.adversarial import (
    BOMBS,
    MAX_PEAK_BYTES,
    MAX_SECONDS,
    TEN_MB,
    Bomb,
    Outcome,
    probe_many,
)
from tests.cli_helpers import kpibot
from tests.scoring_helpers import counts, ledger, setup_units, write_csv


def refusal_faults(bomb: Bomb, outcome: Outcome) -> list[str]:
    """What is wrong with how one hostile file was refused (nothing, when all is well)."""
    lines = outcome.err.splitlines()
    checks = {
        "exit code 1": outcome.code == 1,
        "a headline": bool(lines) and lines[0].startswith("发现"),
        "nothing written": bool(lines) and lines[0].endswith("个问题，未写入任何数据："),
        "problems naming the file": all(
            line.startswith(f"  - {bomb.file}") for line in lines[1:-1]
        ),
        "a readable length": 2 <= len(lines) <= 32,
        "no traceback": "Traceback" not in outcome.err,
        f"under {MAX_SECONDS:.0f} s": 0 <= outcome.seconds < MAX_SECONDS,
        "under 1 GB": outcome.peak_bytes < MAX_PEAK_BYTES,
    }
    return [f"{bomb.name}: not {what} ({outcome})" for what, ok in checks.items() if not ok]


def test_hostile_files_are_refused_in_bounded_time_and_memory(
    database_url: str, tmp_path: Path
) -> None:
    runs = []
    for bomb in BOMBS:
        path = tmp_path / bomb.file
        bomb.make(path)
        assert path.stat().st_size < TEN_MB
        runs.append((bomb.command, path))
    outcomes = probe_many(database_url, runs)
    assert len(outcomes) == len(BOMBS)
    faults = [f for b, o in zip(BOMBS, outcomes, strict=True) for f in refusal_faults(b, o)]
    assert faults == []


def test_long_problem_lists_are_cut_with_the_count(database_url: str, tmp_path: Path) -> None:
    setup_units(database_url, tmp_path)
    rows = [
        ["日期", "单位", "指标", "分值"],
        *(["2026-04-05", "GS01", "KF-01", "1,5"] for _ in range(100)),
    ]
    run = ledger(database_url, write_csv(tmp_path / "many.csv", rows))
    lines = run.err.splitlines()
    assert lines[0] == "发现 100 个问题，未写入任何数据："
    assert len(lines) == 1 + 30 + 1
    assert lines[30] == (
        "  - many.csv 第31行 字段“分值”：分值“1,5”含有逗号，不是有效数字（小数请用小数点，如 1.5）"
    )
    assert lines[-1] == "  - 另有 70 个问题未列出，请先改正以上问题后重新导入"
    assert counts(database_url)[1] == 0


def test_the_chat_cuts_problem_lists_too(database_url: str, tmp_path: Path) -> None:
    setup_units(database_url, tmp_path)
    rows = [
        ["日期", "单位", "指标", "分值"],
        *(["2026-04-05", "GS01", "KF-01", "1_0"] for _ in range(50)),
    ]
    path = write_csv(tmp_path / "many.csv", rows)
    run = kpibot(database_url, "chat", "--as", "admin", stdin=f"/import {path} 台账\n/quit\n")
    listed = [line for line in run.out.splitlines() if line.startswith("· many.csv")]
    assert len(listed) == 30
    assert "发现 50 个问题，未写入任何数据：" in run.out
    assert "· 另有 20 个问题未列出，请先改正以上问题后重新导入" in run.out


def test_a_hopeless_file_stops_being_checked(database_url: str, tmp_path: Path) -> None:
    setup_units(database_url, tmp_path)
    rows = [
        ["日期", "单位", "指标", "分值"],
        *(["昨天", "GS01", "KF-01", "1"] for _ in range(20_000)),
    ]
    run = ledger(database_url, write_csv(tmp_path / "hopeless.csv", rows))
    lines = run.err.splitlines()
    assert lines[0] == "发现至少 10000 个问题，未写入任何数据："
    assert lines[-1] == (
        "  - 另有至少 9970 个问题未列出（问题过多，已在第10002行停止检查），"
        "请先改正以上问题后重新导入"
    )


def test_console_upload_of_a_bomb_is_refused(database_url: str, tmp_path: Path) -> None:
    setup_units(database_url, tmp_path)
    bomb = next(b for b in BOMBS if b.file == "bomb.xlsx")
    path = tmp_path / bomb.file
    bomb.make(path)
    run = kpibot(database_url, "chat", "--as", "admin", stdin=f"/import {path} 台账\n/quit\n")
    assert (
        "· bomb.xlsx：XLSX 内容过大（解压后约 119 MB，上限 32 MB），请拆分文件或另存为 CSV"
    ) in run.out
    assert counts(database_url)[1] == 0


def test_oversized_upload_is_refused_before_reading(database_url: str, tmp_path: Path) -> None:
    setup_units(database_url, tmp_path)
    path = tmp_path / "big.csv"
    path.write_bytes(b"a,b\n" * (TEN_MB // 4 + 1))
    run = kpibot(database_url, "chat", "--as", "admin", stdin=f"/import {path} 台账\n/quit\n")
    assert "· big.csv：文件过大（上限 10 MB）" in run.out
    rulebook = tmp_path / "big.yaml"
    rulebook.write_bytes(b"# " + b"x" * TEN_MB + b"\n")
    check = kpibot(database_url, "rulebook", "check", str(rulebook))
    assert check.err.splitlines()[1] == "  - big.yaml：文件过大（约 10.0 MB，上限 10 MB）"
