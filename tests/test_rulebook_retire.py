"""A rulebook import retiring many indicators waits for a confirmation; --dry-run shows it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from knowledge.rulebook_files import read_rulebook
from knowledge.rulebook_writers import write_rulebook
from tests.cli_helpers import kpibot
from tests.conftest import SAMPLE_RULEBOOK
from tests.test_rulebook_cli import counts


def trimmed_sample(tmp_path: Path, keep: int, *, rename_first: bool = False) -> Path:
    """The sample rulebook with only its first ``keep`` indicators (one renamed if asked)."""
    sample = read_rulebook(SAMPLE_RULEBOOK)
    indicators = list(sample.indicators[:keep])
    if rename_first:
        indicators[0] = replace(indicators[0], name=indicators[0].name + "（新）")
    path = tmp_path / f"keep{keep}.yaml"
    write_rulebook(replace(sample, indicators=tuple(indicators)), path)
    return path


def test_dry_run_lists_added_changed_and_retired_without_writing(
    database_url: str, tmp_path: Path
) -> None:
    assert kpibot(database_url, "rulebook", "import", str(SAMPLE_RULEBOOK)).code == 0
    path = trimmed_sample(tmp_path, 40, rename_first=True)
    text = path.read_text(encoding="utf-8").replace(
        "indicators:\n", "indicators:\n- {code: NEW-01, name: 新增项, type: 加分项, points: 1}\n"
    )
    path.write_text(text, encoding="utf-8")
    run = kpibot(database_url, "rulebook", "import", str(path), "--dry-run")
    assert run.code == 0, run.err
    sample = read_rulebook(SAMPLE_RULEBOOK)
    retired = "、".join(i.code for i in sample.indicators[40:])
    assert run.out.splitlines() == [
        "keep40.yaml（试运行，未写入）：将新增 1 项，更新 1 项，未变 39 项，停用 8 项。",
        "新增：NEW-01",
        f"更新：{sample.indicators[0].code}",
        f"停用：{retired}",
    ]
    assert counts(database_url) == (1, 48, 48)


def test_retiring_up_to_a_quarter_needs_no_confirmation(database_url: str, tmp_path: Path) -> None:
    assert kpibot(database_url, "rulebook", "import", str(SAMPLE_RULEBOOK)).code == 0
    run = kpibot(database_url, "rulebook", "import", str(trimmed_sample(tmp_path, 36)))
    assert run.code == 0, run.err
    assert "停用 12 项" in run.out
    assert counts(database_url) == (2, 36, 48)


def test_retiring_more_than_a_quarter_needs_retire_missing(
    database_url: str, tmp_path: Path
) -> None:
    assert kpibot(database_url, "rulebook", "import", str(SAMPLE_RULEBOOK)).code == 0
    path = trimmed_sample(tmp_path, 35)
    run = kpibot(database_url, "rulebook", "import", str(path))
    assert run.code == 1
    lines = run.err.splitlines()
    assert lines[0].startswith(
        "keep35.yaml：此次导入将停用 13 项指标（现有有效指标 48 项，超过四分之一）："
    )
    assert lines[0].endswith("等 13 项。请确认文件完整；确需停用的，请确认后再导入")
    assert lines[1] == (
        "如确认停用，请加 --retire-missing 重新导入"
        "（可先用 --dry-run 查看将新增、更新和停用哪些指标）。"
    )
    assert counts(database_url) == (1, 48, 48)
    dry = kpibot(database_url, "rulebook", "import", str(path), "--dry-run")
    assert dry.out.splitlines()[-1] == (
        "注意：将停用的指标超过现有有效指标（48 项）的四分之一，"
        "正式导入时需加 --retire-missing 确认。"
    )
    confirmed = kpibot(database_url, "rulebook", "import", str(path), "--retire-missing")
    assert confirmed.code == 0, confirmed.err
    assert counts(database_url) == (2, 35, 48)


def test_an_upload_is_confirmed_by_its_caption(database_url: str, tmp_path: Path) -> None:
    assert kpibot(database_url, "rulebook", "import", str(SAMPLE_RULEBOOK)).code == 0
    path = trimmed_sample(tmp_path, 10)
    chat = ("chat", "--as", "admin")
    refused = kpibot(database_url, *chat, stdin=f"/import {path} 细则\n/quit\n")
    assert "keep10.yaml：此次导入将停用 38 项指标" in refused.out
    assert "如确认停用，请重新发送该文件，并在说明中写“确认停用”。" in refused.out
    assert counts(database_url) == (1, 48, 48)
    done = kpibot(database_url, *chat, stdin=f"/import {path} 细则 确认停用\n/quit\n")
    assert "新增 0 项，更新 0 项，未变 10 项，停用 38 项" in done.out
    assert counts(database_url) == (2, 10, 48)
