"""Shared set-up for the scoring tests: the sample rulebook, units, and files on disk."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from sqlalchemy import func
from sqlmodel import Session, select

from db import rulebook_store
from db.models import LedgerEntry, Review, Unit
from db.session import make_engine
from knowledge.rulebook_files import read_rulebook
from tests.cli_helpers import Run, kpibot
from tests.conftest import SAMPLE_RULEBOOK

TODAY = date(2026, 6, 30)
TODAY_ARG = ("--today", TODAY.isoformat())

UNITS = [
    ["编码", "名称", "分组"],
    ["GS01", "办公室", "股室"],
    ["GS02", "法制股", "股室"],
    ["GS03", "税政股", "股室"],
    ["PC01", "城区税务分局", "派出机构"],
    ["PC02", "开发区税务分局", "派出机构"],
]


def write_csv(path: Path, rows: Sequence[Sequence[Any]], *, encoding: str = "utf-8") -> Path:
    """Rows as a CSV file in the given encoding ("utf-8-sig" for a BOM)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, rows: Sequence[Sequence[Any]], *, sheet: str = "Sheet1") -> Path:
    """Rows as the first sheet of a workbook (cells keep their Python types)."""
    book = Workbook()
    worksheet = book.active
    assert worksheet is not None
    worksheet.title = sheet
    for row in rows:
        worksheet.append(list(row))
    book.save(path)
    return path


def load_sample(database_url: str) -> None:
    """The sample rulebook (bonus_cap 10) straight into the database."""
    engine = make_engine(database_url)
    try:
        from db.schema import ensure_schema

        ensure_schema(engine)
        with Session(engine) as session:
            rulebook_store.import_rulebook(
                session=session,
                rulebook=read_rulebook(SAMPLE_RULEBOOK),
                source=SAMPLE_RULEBOOK.name,
                imported_by="test",
            )
            session.commit()
    finally:
        engine.dispose()


def setup_units(database_url: str, tmp_path: Path) -> None:
    """The sample rulebook plus five units in two groups."""
    load_sample(database_url)
    run = kpibot(database_url, "units", "import", str(write_csv(tmp_path / "units.csv", UNITS)))
    assert run.code == 0, run.err


def counts(database_url: str) -> tuple[int, int, int]:
    """How many units, ledger entries and review rows the database holds."""
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            return (
                session.exec(select(func.count()).select_from(Unit)).one(),
                session.exec(select(func.count()).select_from(LedgerEntry)).one(),
                session.exec(select(func.count()).select_from(Review)).one(),
            )
    finally:
        engine.dispose()


def ledger(database_url: str, path: Path, *extra: str) -> Run:
    """``kpibot ledger import PATH`` as of the test's today."""
    return kpibot(database_url, "ledger", "import", str(path), *TODAY_ARG, *extra)
