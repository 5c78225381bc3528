"""What the exactly-once tests and ``benchmarks/bench_notices.py`` share: a month with many
flagged units and their liaisons, the real ``kpibot run`` as a process, and the tally of
what the loopback Bot API received against what the outbox recorded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.services import Services
from db import rulebook_store, scoring_store, users_store
from db.models import NoticeDelivery
from db.outbox_store import UNFINISHED, DeliveryStatus
from db.scoring_store import NewEntry, UnitInfo
from db.users_store import Role
from knowledge.rulebook_files import read_rulebook
from knowledge.rulebooks import SAMPLE_RULEBOOK
from scoring.periods import Period
from tests.fake_bot_api import FakeBotApi

ROOT = Path(__file__).resolve().parents[1]
FIRST_LIAISON = 5_000_000
TOKEN = "4242:OUTBOX-TOKEN"


def seed_flagged_units(services: Services, count: int, month: Period) -> list[int]:
    """``count`` one-unit groups, each 18 points down in ``month`` (below the alert line),
    each with a liaison; the liaisons' chat ids."""
    day = month.start.replace(day=10)
    with services.session() as session:
        rulebook_store.import_rulebook(
            session=session,
            rulebook=read_rulebook(SAMPLE_RULEBOOK),
            source=SAMPLE_RULEBOOK.name,
            imported_by="bench",
        )
        units = [UnitInfo(f"U{n:05d}", f"第{n}税务所", f"分组{n:05d}") for n in range(count)]
        scoring_store.upsert_units(session=session, units=units)
        scoring_store.insert_entries(
            session=session,
            entries=[
                NewEntry(
                    entry_date=day,
                    unit_code=unit.code,
                    indicator_code=code,
                    points_cents=cents,
                    entered_by="bench",
                    note="考核不达标",
                    source="bench",
                )
                for unit in units
                for code, cents in (("DL-01", 1000), ("DL-04", 800))
            ],
        )
        for number, unit in enumerate(units):
            users_store.bind_user(
                session=session,
                telegram_id=FIRST_LIAISON + number,
                role=Role.LIAISON,
                unit_code=unit.code,
            )
    services.reload()
    return [FIRST_LIAISON + n for n in range(count)]


# ---------------------------------------------------------------- the tally


@dataclass(frozen=True)
class Tally:
    """Notices against what reached the Bot API, per recipient."""

    notices: int  # notice rows in the outbox
    delivered: int  # recipients who got at least one copy
    duplicates: int  # copies beyond the first
    uncertain: int  # rows recorded 待确认
    unaccounted: int  # rows whose record disagrees with what happened, or unfinished
    statuses: Counter[str]


def _accounted(status: str, copies: int) -> bool:
    if status == DeliveryStatus.SENT.value:
        return copies == 1
    if status == DeliveryStatus.UNCERTAIN.value:
        return copies <= 1  # flagged for the acknowledgement loop either way
    if status in (DeliveryStatus.FAILED.value, DeliveryStatus.BLOCKED.value):
        return copies == 0
    return False  # still pending, claimed or in flight: nobody knows where it is


def tally(engine: Engine, api: FakeBotApi, *, since: int = 0, kind: str = "notice") -> Tally:
    """Compare the outbox's ``kind`` rows with the sendMessage calls after ``since``."""
    with api.lock:
        copies = Counter(
            str(call.params.get("chat_id"))
            for call in api.sent[since:]
            if call.method == "sendMessage"
        )
    with Session(engine) as session:
        rows = list(
            session.exec(
                select(NoticeDelivery.address, NoticeDelivery.status).where(
                    col(NoticeDelivery.kind) == kind
                )
            )
        )
    return Tally(
        notices=len(rows),
        delivered=sum(1 for address, _ in rows if copies[address] > 0),
        duplicates=sum(max(copies[address] - 1, 0) for address, _ in rows),
        uncertain=sum(1 for _, status in rows if status == DeliveryStatus.UNCERTAIN.value),
        unaccounted=sum(1 for address, status in rows if not _accounted(status, copies[address])),
        statuses=Counter(status for _, status in rows),
    )


def unfinished(engine: Engine) -> int:
    """Outbox rows still pending, claimed or in flight."""
    with Session(engine) as session:
        rows = session.exec(
            select(NoticeDelivery.id).where(
                col(NoticeDelivery.status).in_([status.value for status in UNFINISHED])
            )
        )
        return len(list(rows))


def resend_in_flight(engine: Engine, worker_prefix: str | None = None) -> int:
    """What a naive outbox does when a sender died: every row it held, in flight or not, goes
    back to pending and is sent again (the rule this project replaced). Baseline only."""
    statement = (
        update(NoticeDelivery)
        .where(
            col(NoticeDelivery.status).in_(
                [DeliveryStatus.CLAIMED.value, DeliveryStatus.SENDING.value]
            )
        )
        .values(status=DeliveryStatus.PENDING.value, claimed_until=None)
    )
    if worker_prefix is not None:
        statement = statement.where(col(NoticeDelivery.claimed_by).startswith(worker_prefix))
    with Session(engine) as session:
        count = int(session.execute(statement).rowcount or 0)  # type: ignore[attr-defined]
        session.commit()
    return count


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` (a database or a server's state) until it holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


# ---------------------------------------------------------------- the real bot process


def bot_env(database_url: str, api: FakeBotApi, **settings: str) -> dict[str, str]:
    """The environment of a ``kpibot run`` against the loopback Bot API."""
    env = {
        **os.environ,
        "KPIBOT_DATABASE_URL": database_url,
        "KPIBOT_TELEGRAM_TOKEN": TOKEN,
        "KPIBOT_TELEGRAM_BASE_URL": api.base_url,
        "KPIBOT_OFFICE_CHAT_IDS": "[]",
        "KPIBOT_OUTBOX_POLL_SECONDS": "0.2",
        "KPIBOT_SEND_LEASE_SECONDS": "3",
        "KPIBOT_SEND_PER_CHAT_INTERVAL": "0.05",
        "KPIBOT_FOLLOW_UP_INTERVAL_SECONDS": "3600",
        "PYTHONPATH": str(ROOT),
        **{f"KPIBOT_{key.upper()}": value for key, value in settings.items()},
    }
    env.pop("KPIBOT_WEBHOOK_URL", None)
    return env


class BotProcess:
    """``python -m bot run`` in a folder of its own, logging to a file."""

    def __init__(self, env: dict[str, str], folder: Path, name: str) -> None:
        self.log_path = folder / f"{name}.log"
        self._log: IO[str] = self.log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=folder,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def worker_prefix(self) -> str:
        """How this process's outbox claims are named (``host:pid:``)."""
        import socket

        return f"{socket.gethostname()}:{self.process.pid}:"

    def kill(self) -> None:
        """``kill -9``: no clean-up of any kind."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self._log.close()

    def stop(self) -> str:
        """Ctrl-C, as an operator would; the log."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self._log.close()
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def run_remind(database_url: str, month: Period, env: dict[str, str], folder: Path) -> None:
    """``kpibot remind --month M --no-send``: the notices queued, nothing sent yet."""
    result = subprocess.run(
        [sys.executable, "-m", "bot", "remind", "--month", month.code, "--no-send"],
        cwd=folder,
        env={**env, "KPIBOT_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise AssertionError(result.stdout + result.stderr)


def last_month(today: date) -> Period:
    """The month just ended: the one a real run may issue."""
    return Period.month(today.year, today.month).previous()
