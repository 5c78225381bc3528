"""Reliability in one table: tried / passed / failed per area (issue 8), kpibot next to a
simple baseline where one exists.

    python benchmarks/bench_reliability.py

Each area is one function returning :class:`Area` rows, listed in :data:`AREAS`; an area is
added by writing its function and appending it there. Every row runs the real code over the
adversarial corpora kept under ``tests/``:

- masking variants: ``knowledge.privacy.mask_personal_data`` over the corpus of personal
  data as people write it (must be masked exactly, surroundings kept) and of ordinary texts
  (must stay untouched); baseline: the plain regular expressions a first version would use.
- malformed updates: each unreadable update of ``tests/malformed_updates.py`` in a
  ``getUpdates`` batch with a good update; passed when the batch parses and the good update is
  intact (the polling loop goes on); baseline: python-telegram-bot parsing the raw batch.
- numbers and bombs: the strict number parser and hostile files, from
  ``benchmarks/reliability_input.py``.
- faults: real faults of the database and the disk (a read-only SQLite file, a full one, an
  unreachable PostgreSQL, an old schema), each passed when it is told as its one Chinese
  sentence with no SQL and no parameters in it.
"""

from __future__ import annotations

import json
import re
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bot.core import faults  # noqa: E402
from knowledge.privacy import mask_personal_data  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "privacy"


@dataclass(frozen=True)
class Area:
    """One row of the table."""

    area: str
    tried: int
    passed: int
    note: str = ""

    @property
    def failed(self) -> int:
        return self.tried - self.passed


# ---------------------------------------------------------------- masking variants


def masking_cases() -> list[tuple[str, str]]:
    """(text, the exact expected output) for every corpus entry, masked and untouched."""
    data = yaml.safe_load((CORPUS / "identifiers.yaml").read_text(encoding="utf-8"))
    cases = []
    for block in data.values():
        for row in block["cases"]:
            before, secret, after = row[:3]
            expected = row[3] if len(row) > 3 else before + block["mask"] + after
            cases.append((before + secret + after, expected))
    untouched = yaml.safe_load((CORPUS / "untouched.yaml").read_text(encoding="utf-8"))
    return cases + [(t, t) for t in untouched]


_BASELINE = [
    (re.compile(r"\d{17}[\dXx]"), "[证件号已隐去]"),
    (re.compile(r"1[3-9]\d{9}"), "[电话已隐去]"),
    (re.compile(r"0\d{2,3}-\d{7,8}"), "[电话已隐去]"),
    (re.compile(r"\d{16,19}"), "[卡号已隐去]"),
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+"), "[邮箱已隐去]"),
    (re.compile(r"\S{2,6}[路街]\d+号"), "[地址已隐去]"),
]


def baseline_mask(text_in: str) -> str:
    """What a first version would write: one plain regular expression per kind."""
    for pattern, mask in _BASELINE:
        text_in = pattern.sub(mask, text_in)
    return text_in


def masking_variants() -> list[Area]:
    cases = masking_cases()
    rows = []
    for name, masker in (
        ("kpibot", mask_personal_data),
        ("baseline: plain regexes", baseline_mask),
    ):
        passed = sum(masker(t) == expected for t, expected in cases)
        start, done = time.perf_counter(), 0
        while time.perf_counter() - start < 1.0:
            for t, _ in cases:
                masker(t)
            done += len(cases)
        speed = done / (time.perf_counter() - start)
        rows.append(Area(f"masking variants ({name})", len(cases), passed, f"{speed:,.0f} texts/s"))
    return rows


# ---------------------------------------------------------------- malformed updates


def malformed_updates() -> list[Area]:
    from telegram import Bot, Update

    from bot.telegram.network import readable_updates
    from tests.malformed_updates import MALFORMED

    bot = Bot("123456:BENCH")  # parsing only: never initialised, never reaches the network
    good = {
        "update_id": 2,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": 1, "type": "private"},
            "from": {"id": 1, "is_bot": False, "first_name": "用户"},
            "text": "税收收入完成率怎么算",
        },
    }

    def polling_goes_on(batch: bytes) -> bool:
        try:
            updates = Update.de_list(json.loads(batch)["result"], bot)
        except Exception:
            return False  # python-telegram-bot would ask for this batch again, forever
        return updates[-1].update_id == 2 and updates[-1].message is not None

    rows = []
    for name, prepare in (
        ("kpibot", readable_updates),
        ("baseline: python-telegram-bot alone", lambda batch: batch),
    ):
        passed = 0
        for _, update in MALFORMED:
            batch = json.dumps({"ok": True, "result": [{"update_id": 1, **update}, good]})
            passed += polling_goes_on(prepare(batch.encode()))
        rows.append(Area(f"malformed updates ({name})", len(MALFORMED), passed))
    return rows


# ---------------------------------------------------------------- faults


def _read_only(folder: Path) -> BaseException:
    from db.session import make_engine

    path = folder / "ro.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x TEXT)").connection.commit()
    engine = make_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    try:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO t VALUES (:x)"), {"x": "秘密参数"})
    except Exception as exc:
        return exc
    finally:
        engine.dispose()
    raise AssertionError("a read-only database took a write")


def _disk_full(folder: Path) -> BaseException:
    from sqlalchemy import event

    from db.session import make_engine

    engine = make_engine(f"sqlite:///{folder / 'full.db'}")

    @event.listens_for(engine, "connect")
    def tiny(connection: sqlite3.Connection, _: object) -> None:
        connection.execute("PRAGMA max_page_count = 8")  # the file cannot grow: a full disk

    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x TEXT)"))
            for _ in range(200):
                connection.execute(text("INSERT INTO t VALUES (:x)"), {"x": "秘密参数" * 100})
    except Exception as exc:
        return exc
    finally:
        engine.dispose()
    raise AssertionError("the database never filled up")


def _unreachable(_: Path) -> BaseException:
    from db.session import make_engine

    engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/kpibot")
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        return exc
    finally:
        engine.dispose()
    raise AssertionError("port 1 answered")


def _old_schema(folder: Path) -> BaseException:
    from alembic import command

    from db.schema import _config, ensure_schema
    from db.session import make_engine

    engine = make_engine(f"sqlite:///{folder / 'old.db'}")
    try:
        command.upgrade(_config(engine), "0004")
        ensure_schema(engine)
    except Exception as exc:
        return exc
    finally:
        engine.dispose()
    raise AssertionError("an old schema was accepted")


FAULTS: list[tuple[str, Callable[[Path], BaseException], str]] = [
    ("read-only database", _read_only, faults.READ_ONLY),
    ("full disk", _disk_full, faults.DISK_FULL),
    ("unreachable PostgreSQL", _unreachable, faults.UNREACHABLE),
    ("old schema", _old_schema, "数据库结构版本较旧"),
]


def database_faults() -> list[Area]:
    import logging

    logging.getLogger("alembic").setLevel(logging.WARNING)
    passed, failures = 0, []
    with tempfile.TemporaryDirectory() as folder:
        for name, provoke, expected in FAULTS:
            sentence = faults.fault_sentence(provoke(Path(folder))) or ""
            ok = sentence.startswith(expected) and "秘密参数" not in sentence
            ok = ok and "INSERT" not in sentence and "\n" not in sentence
            passed += ok
            if not ok:
                failures.append(name)
    note = "failed: " + ", ".join(failures) if failures else ""
    return [Area("faults (database, disk, schema)", len(FAULTS), passed, note)]


# ---------------------------------------------------------------- input (numbers, bombs)


def bad_input() -> list[Area]:
    """The strict number parser and the hostile files (``benchmarks/reliability_input.py``)."""
    from benchmarks import reliability_input

    rows = [
        reliability_input.numbers(),
        reliability_input.numbers_baseline(),
        reliability_input.bombs(),
    ]
    return [Area(name, tried, passed) for name, tried, passed, _ in rows]


# ---------------------------------------------------------------- the table

AREAS: list[Callable[[], list[Area]]] = [
    masking_variants,
    bad_input,
    malformed_updates,
    database_faults,
]


def main() -> None:
    import logging

    logging.basicConfig(level=logging.ERROR)  # each skipped update is logged; not here
    rows = [row for area in AREAS for row in area()]
    width = max(len(r.area) for r in rows)
    print(f"{'area':<{width}}  {'tried':>6}  {'passed':>6}  {'failed':>6}  note")
    for row in rows:
        line = f"{row.area:<{width}}  {row.tried:>6}  {row.passed:>6}  {row.failed:>6}  {row.note}"
        print(line.rstrip())


if __name__ == "__main__":
    main()
