"""``kpibot rulebook`` and ``kpibot db`` against a real database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, text
from sqlmodel import Session, select

from db.models import IndicatorRecord, RulebookVersion
from db.schema import head_revision
from db.session import make_engine
from knowledge.rulebook_files import read_rulebook
from tests.cli_helpers import kpibot
from tests.conftest import SAMPLE_RULEBOOK

SMALL = """\
title: 小细则
year: 2026
indicators:
  - code: A-01
    name: 税收收入完成率
    type: 定量指标
    points: 10
  - code: A-02
    name: 信访投诉
    type: 减分项
    points: 0.5
"""


def counts(database_url: str) -> tuple[int, int, int]:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            versions = session.exec(select(func.count()).select_from(RulebookVersion)).one()
            active = session.exec(
                select(func.count()).where(IndicatorRecord.active == True)  # noqa: E712
            ).one()
            total = session.exec(select(func.count()).select_from(IndicatorRecord)).one()
            return versions, active, total
    finally:
        engine.dispose()


def test_check_reports_counts_without_touching_the_database(database_url: str) -> None:
    run = kpibot(database_url, "rulebook", "check", str(SAMPLE_RULEBOOK))
    assert run.code == 0
    assert run.out.strip() == (
        "tax_bureau_2026.yaml：校验通过，共 48 项指标"
        "（定量指标 12 项、加分项 14 项、减分项 22 项）。"
    )


def test_import_then_reimport_retires_and_reactivates(database_url: str, tmp_path: Path) -> None:
    run = kpibot(database_url, "rulebook", "import", str(SAMPLE_RULEBOOK))
    assert run.code == 0, run.err
    assert "新增 48 项" in run.out
    assert counts(database_url) == (1, 48, 48)

    small = tmp_path / "small.yaml"
    small.write_text(SMALL.replace("A-01", "DL-01").replace("A-02", "KF-02"), encoding="utf-8")
    run = kpibot(database_url, "rulebook", "import", str(small), "--retire-missing")
    assert run.code == 0, run.err
    assert "新增 0 项，更新 2 项，未变 0 项，停用 46 项" in run.out
    assert counts(database_url) == (2, 2, 48)

    run = kpibot(database_url, "ask", "--json", "被上级通报批评扣几分")
    assert '"status": "none"' in run.out or "KF-01" not in run.out

    run = kpibot(database_url, "rulebook", "import", str(SAMPLE_RULEBOOK))
    assert "更新 48 项" in run.out
    assert counts(database_url) == (3, 48, 48)


def test_failed_import_writes_nothing(database_url: str, tmp_path: Path) -> None:
    kpibot(database_url, "rulebook", "import", str(SAMPLE_RULEBOOK))
    bad = tmp_path / "bad.yaml"
    bad.write_text(SMALL.replace("points: 0.5", "points: abc"), encoding="utf-8")
    run = kpibot(database_url, "rulebook", "import", str(bad))
    assert run.code == 1
    assert run.err.splitlines() == [
        "发现 1 个问题，未写入任何数据：",
        "  - bad.yaml 第11行 字段“points”：分值“abc”不是有效数字",
    ]
    assert counts(database_url) == (1, 48, 48)


def test_export_round_trips_through_the_database(database_url: str, tmp_path: Path) -> None:
    kpibot(database_url, "rulebook", "import", str(SAMPLE_RULEBOOK))
    for name in ("out.yaml", "out.xlsx"):
        run = kpibot(database_url, "rulebook", "export", str(tmp_path / name))
        assert run.code == 0, run.err
        assert read_rulebook(tmp_path / name) == read_rulebook(SAMPLE_RULEBOOK)


def test_export_with_no_rulebook_says_so(database_url: str, tmp_path: Path) -> None:
    run = kpibot(database_url, "rulebook", "export", str(tmp_path / "x.yaml"))
    assert run.code == 1
    assert "还没有考评指标细则" in run.err


def test_db_upgrade_and_current(database_url: str) -> None:
    run = kpibot(database_url, "db", "upgrade")
    assert run.code == 0
    assert f"→ {head_revision()}" in run.out
    run = kpibot(database_url, "db", "upgrade")
    assert "已是最新" in run.out
    run = kpibot(database_url, "db", "current")
    assert f"当前版本：{head_revision()}" in run.out
    assert "（最新）" in run.out


def _set_revision(database_url: str, revision: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    finally:
        engine.dispose()


def test_commands_refuse_an_older_or_newer_schema_plainly(database_url: str) -> None:
    assert kpibot(database_url, "db", "upgrade").code == 0
    _set_revision(database_url, "9999")
    run = kpibot(database_url, "rulebook", "import", str(SAMPLE_RULEBOOK))
    assert run.code == 2
    assert "比本程序新" in run.err
    if head_revision() != "0001":
        engine = make_engine(database_url)
        from db.schema import upgrade

        _set_revision(database_url, head_revision())
        from alembic import command

        from db.schema import _config

        command.downgrade(_config(engine), "0001")
        engine.dispose()
        run = kpibot(database_url, "ask", "你好")
        assert run.code == 2
        assert run.err.strip() == (
            f"数据库结构版本较旧（当前 0001，需要 {head_revision()}）。"
            "请先备份，再运行：kpibot db upgrade"
        )
        assert kpibot(database_url, "db", "upgrade").code == 0
        upgrade  # noqa: B018 - imported for symmetry with downgrade


def test_foreign_database_is_not_touched(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'other.db'}"
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE payroll (id INTEGER)"))
    engine.dispose()
    run = kpibot(url, "ask", "你好")
    assert run.code == 2
    assert "不是 kpibot 的库" in run.err


def test_a_bad_scoring_block_is_refused_at_check_and_import(
    database_url: str, tmp_path: Path
) -> None:
    assert kpibot(database_url, "db", "upgrade").code == 0
    bad = tmp_path / "bad_scoring.yaml"
    bad.write_text(SMALL + "scoring:\n  base: 一百\n  bottom_n: 两个\n", encoding="utf-8")
    for command in ("check", "import"):
        run = kpibot(database_url, "rulebook", command, str(bad))
        assert run.code == 1, command
        assert "bad_scoring.yaml 字段“scoring.base”" in run.err
        assert "字段“scoring.bottom_n”" in run.err
    assert counts(database_url) == (0, 0, 0)


def test_import_prepares_the_matcher_once_for_every_later_process(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "prepared"
    monkeypatch.setenv("KPIBOT_MATCHER_CACHE_DIR", str(cache))
    with_table = tmp_path / "with_synonyms.yaml"
    with_table.write_text(
        SAMPLE_RULEBOOK.read_text(encoding="utf-8")
        + "\nsynonyms:\n  - {word: 挨个儿, term: 平均等候时长}\n",
        encoding="utf-8",
    )
    run = kpibot(database_url, "rulebook", "import", str(with_table))
    assert run.code == 0, run.err
    assert "问答索引已按本版细则建立并校准" in run.out
    (prepared,) = cache.glob("matcher-*.idx")
    built = prepared.stat().st_ino  # a rebuild would rename a new file into place
    run = kpibot(database_url, "ask", "--json", "大厅里好多人挨个儿等着")
    assert run.code == 0, run.err
    assert '"DL-06"' in run.out  # found through the office synonym table kept with the rulebook
    assert [p.stat().st_ino for p in cache.glob("matcher-*.idx")] == [built]


def test_a_malformed_synonym_table_is_refused_at_import(database_url: str, tmp_path: Path) -> None:
    kpibot(database_url, "rulebook", "import", str(SAMPLE_RULEBOOK))
    bad = tmp_path / "bad_synonyms.yaml"
    bad.write_text(SMALL + "\nsynonyms:\n  - {word: 排队}\n", encoding="utf-8")
    run = kpibot(database_url, "rulebook", "import", str(bad))
    assert run.code == 1
    assert "  - bad_synonyms.yaml 字段“term”：规范用语为空" in run.err.splitlines()
    assert counts(database_url) == (1, 48, 48)
