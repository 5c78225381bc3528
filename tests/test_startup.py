"""Start-up budget: what a fresh ``kpibot`` process imports (docs/benchmarks.md, "Start-up").

CPU seconds depend on the machine and its load, so the budget is guarded by its causes
instead: a fresh ``kpibot ask`` must not import the ORM (SQLModel, ``sqlalchemy.orm``, the
models), the doors (python-telegram-bot, httpx), what only building an index needs (jieba,
filelock) or pypinyin's phrase dictionary; ``kpibot --help`` must not import SQLAlchemy,
the matcher or pypinyin. Each would put a tenth of a second or more back into every start.
(asyncio cannot be on the list: pydantic-settings imports it, and the settings are needed.)
The imports are read from ``python -X importtime`` of the real process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Table, func, select
from sqlalchemy.engine import Dialect, make_url

from db.session import make_engine
from db.tables import QUESTION_PATH_TABLES, question_log
from tests.cli_helpers import kpibot
from tests.conftest import SAMPLE_RULEBOOK

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "纳税人满义度怎么算"

NOT_FOR_ASK = frozenset(
    {
        "sqlmodel",
        "sqlalchemy.orm",
        "db.models",
        "alembic",
        "telegram",
        "httpx",
        "bot.telegram",
        "bot.wecom",
        "jieba",
        "pkg_resources",
        "filelock",
        "pypinyin.phrases_dict",
    }
)
NOT_FOR_HELP = frozenset({"sqlalchemy", "numpy", "pypinyin", "knowledge.matcher", "telegram"})


def imported_modules(tmp_path: Path, *args: str) -> tuple[set[str], str]:
    """The modules a fresh ``python -m bot ARGS`` imported, and what it printed."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,  # no stray .env
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    modules = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and not line.endswith("imported package")
    }
    return modules, done.stdout


def test_ask_answers_without_the_orm_the_doors_or_index_building(
    database_url: str, tmp_path: Path
) -> None:
    assert kpibot(database_url, "rulebook", "import", str(SAMPLE_RULEBOOK)).code == 0
    warm = kpibot(database_url, "ask", QUESTION)  # the matcher cache is built once per rulebook
    assert warm.code == 0

    modules, out = imported_modules(tmp_path, "--db", database_url, "ask", QUESTION)

    assert out == warm.out
    assert out.startswith("【DL-04】纳税人满意度\n")
    assert {"sqlalchemy.engine", "db.question_path", "knowledge.matcher"} <= modules
    assert sorted(NOT_FOR_ASK & modules) == []
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            logged = connection.execute(
                select(func.count())
                .select_from(question_log)
                .where(question_log.c.question == QUESTION, question_log.c.channel == "cli")
            ).scalar_one()
    finally:
        engine.dispose()
    assert logged == 2  # the warm-up and the fresh process


def test_help_imports_neither_the_database_nor_the_matcher(tmp_path: Path) -> None:
    modules, out = imported_modules(tmp_path, "--help")
    assert out.startswith("用法：python -m bot [选项] 命令")
    assert {"typer", "bot.cli.main"} <= modules
    assert sorted(NOT_FOR_HELP & modules) == []


COLLECTOR = """
import gc
from bot.cli import collector

collector.resume_after_start_up()  # not paused: leaves the collector alone
print(gc.isenabled(), gc.get_freeze_count())
collector.pause_for_start_up()
print(gc.isenabled())
built = [[n] for n in range(1000)]
collector.resume_after_start_up()
frozen = gc.get_freeze_count()
print(gc.isenabled(), frozen > 1000)
later = [[n] for n in range(1000)]
collector.resume_after_start_up()  # once only: the command's own objects stay collectable
print(gc.get_freeze_count() == frozen)
"""


def test_the_collector_is_paused_for_start_up_and_resumed_with_start_up_frozen() -> None:
    done = subprocess.run(
        [sys.executable, "-c", COLLECTOR],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
        check=True,
    )
    assert done.stdout.split("\n") == ["True 0", "False", "True True", "True", ""]


def _shape(table: Table, dialect: Dialect) -> dict[str, tuple[str, bool, bool]]:
    """Each column's SQL type as the dialect writes it, its nullability and primary key."""
    return {
        c.name: (c.type.compile(dialect=dialect), bool(c.nullable), c.primary_key)
        for c in table.columns
    }


@pytest.mark.parametrize("table", QUESTION_PATH_TABLES, ids=lambda t: t.name)
def test_core_tables_of_the_question_path_agree_with_the_models(table: Table) -> None:
    from sqlmodel import SQLModel

    import db.models  # noqa: F401  (registers the models' tables)

    model: Table = SQLModel.metadata.tables[table.name]
    for url in ("sqlite://", "postgresql+psycopg://"):
        dialect = make_url(url).get_dialect()()
        assert _shape(table, dialect) == _shape(model, dialect)
