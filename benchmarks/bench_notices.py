"""Rectification notices through the outbox, against a loopback Bot API.

    python benchmarks/bench_notices.py [--count 1000] [--rate 30] [--db URL]

``count`` single-unit groups each score below the alert line, so the monthly run issues
``count`` notices to ``count`` liaisons. They go out through the outbox (claims, leases,
per-row commits) with the rate limiter on, over HTTP to a Bot API on loopback, with the same
bot the application builds (python-telegram-bot's AIORateLimiter included). The baseline
sends the same messages straight from memory through the same bot: no outbox, no database.
Target: outbox throughput within 10% of the configured rate, zero lost, zero duplicated.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlmodel import Session, col, select  # noqa: E402
from telegram.constants import ParseMode  # noqa: E402
from telegram.ext import AIORateLimiter, ExtBot  # noqa: E402

from bot.rectification import Rectification  # noqa: E402
from bot.services import Services  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.telegram.network import RetryingRequest  # noqa: E402
from bot.telegram.notices import OutboxSender, notice_keyboard  # noqa: E402
from db import rulebook_store, scoring_store, users_store  # noqa: E402
from db.models import NoticeDelivery  # noqa: E402
from db.scoring_store import NewEntry, UnitInfo  # noqa: E402
from db.users_store import Role  # noqa: E402
from knowledge.rulebook_files import read_rulebook  # noqa: E402
from scoring.periods import Period  # noqa: E402
from tests.conftest import SAMPLE_RULEBOOK  # noqa: E402
from tests.fake_bot_api import FakeBotApi  # noqa: E402

TOKEN = "4242:BENCH-TOKEN"
MONTH = Period.month(2026, 2)
RUN_AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
FIRST_LIAISON = 5_000_000


@dataclass
class Result:
    """One measured way of sending."""

    name: str
    count: int
    seconds: float
    delivered: Counter[int]
    expected: set[int]

    @property
    def throughput(self) -> float:
        return self.count / self.seconds

    @property
    def lost(self) -> int:
        return len(self.expected - set(self.delivered))

    @property
    def duplicated(self) -> int:
        return sum(n - 1 for n in self.delivered.values() if n > 1)


def seed(services: Services, count: int) -> None:
    """``count`` one-unit groups, each 20 points down in February, each with a liaison."""
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
                    entry_date=date(2026, 2, 10),
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


def make_bot(api: FakeBotApi) -> ExtBot[int]:
    """The bot as the application builds it: pooled HTTP, AIORateLimiter on."""
    return ExtBot(
        TOKEN,
        base_url=api.base_url,
        request=RetryingRequest(connection_pool_size=64),
        rate_limiter=AIORateLimiter(max_retries=3),
    )


def delivered(api: FakeBotApi, since: int) -> Counter[int]:
    """sendMessage calls per chat after index ``since``."""
    return Counter(
        int(call.params["chat_id"]) for call in api.sent[since:] if call.method == "sendMessage"
    )


async def through_outbox(api: FakeBotApi, services: Services, expected: set[int]) -> Result:
    """Drain the outbox once: everything due goes out, paced."""
    bot = make_bot(api)
    sender = OutboxSender(bot, services.engine, services.settings, now=lambda: RUN_AT)
    async with bot:
        mark = api.mark()
        started = time.perf_counter()
        report = await sender.drain()
        seconds = time.perf_counter() - started
    assert report.sent == len(expected), report
    return Result(
        "outbox (claim, pace, send, commit)", report.sent, seconds, delivered(api, mark), expected
    )


async def direct(api: FakeBotApi, texts: list[tuple[int, int, str]], rate: float) -> Result:
    """The baseline: the same messages straight from memory, no outbox, no database.

    Sent concurrently through the same bot; AIORateLimiter (30/s overall) is the only pacing.
    """
    bot = make_bot(api)
    async with bot:
        mark = api.mark()
        started = time.perf_counter()
        await asyncio.gather(
            *(
                bot.send_message(
                    chat, text, parse_mode=ParseMode.HTML, reply_markup=notice_keyboard(notice)
                )
                for chat, notice, text in texts
            )
        )
        seconds = time.perf_counter() - started
    expected = {chat for chat, _, _ in texts}
    return Result(
        "baseline (direct, no outbox)", len(texts), seconds, delivered(api, mark), expected
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--db", help="database URL (default: a new SQLite file)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = options.db or f"sqlite:///{folder}/bench.db"
        settings = Settings(
            database_url=url,
            telegram_token=TOKEN,
            send_rate_per_second=options.rate,
            send_per_chat_interval=1.0,
            office_chat_ids=[],
        )
        services = Services(settings)
        seed(services, options.count)
        started = time.perf_counter()
        report = Rectification(services, now=lambda: RUN_AT).run_month(MONTH, source="bench")
        run_seconds = time.perf_counter() - started
        assert len(report.notices) == options.count, len(report.notices)
        expected = {FIRST_LIAISON + n for n in range(options.count)}
        with Session(services.engine) as session:
            texts = [
                (row.chat_id, row.notice_id or 0, row.text)
                for row in session.exec(select(NoticeDelivery).order_by(col(NoticeDelivery.id)))
            ]
        with FakeBotApi() as api:
            outbox = asyncio.run(through_outbox(api, services, expected))
            baseline = asyncio.run(direct(api, texts, options.rate))
        with Session(services.engine) as session:
            statuses = Counter(session.exec(select(NoticeDelivery.status)))
        backend = services.engine.dialect.name
        services.close()
    print(
        f"{options.count} notices, configured rate {options.rate:g}/s, per chat 1/s, "
        f"{backend}; monthly run (rank, render, store, enqueue): {run_seconds:.2f} s"
    )
    print()
    print("| sender | messages | seconds | msg/s | vs configured rate | lost | duplicated |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for result in (outbox, baseline):
        share = result.throughput / options.rate
        print(
            f"| {result.name} | {result.count} | {result.seconds:.1f} | "
            f"{result.throughput:.1f} | {share:.1%} | {result.lost} | {result.duplicated} |"
        )
    print()
    print(f"outbox rows after the run: {dict(statuses)}")
    within = abs(outbox.throughput / options.rate - 1) <= 0.10
    clean = outbox.lost == 0 and outbox.duplicated == 0
    verdict = "met" if within and clean else "NOT met"
    print(f"target (within 10% of the rate, none lost or duplicated): {verdict}")


if __name__ == "__main__":
    main()
