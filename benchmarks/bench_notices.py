"""Rectification notices through the outbox, against a loopback Bot API.

    python benchmarks/bench_notices.py [--count 1000] [--rate 30] [--db URL] [--pg URL]
                                       [--skip-throughput] [--scenario latency|kill|two-instances]

Two parts, each next to a simple baseline measured in the same run.

**Throughput.** ``count`` single-unit groups each score below the alert line, so the monthly
run issues ``count`` notices to ``count`` liaisons. They go out through the outbox (claims,
leases, per-row commits) with the rate limiter on, over HTTP to a Bot API on loopback, with
the bot the application builds. The baseline sends the same messages straight from memory.
Target: within 10% of the configured rate, zero lost, zero duplicated.

**Exactly once when the network lies.** Each scenario tallies, per recipient, what the
loopback Bot API received against what the outbox recorded: duplicates (copies beyond the
first) and unaccounted notices (recorded sent but not received once, recorded failed but
received, or never settled). Uncertain (待确认) notices are accounted for: the reminder
carries them. The baseline is the naive outbox: a timeout is retried, and a dead sender's
rows are sent again once their lease runs out.

- 6 s latency: every Bot API answer comes after python-telegram-bot's 5 s read timeout;
- kill -9: the real ``kpibot run`` killed mid-send, then started again;
- two instances on PostgreSQL (``--pg URL``, a database this benchmark may wipe), one of
  them killed mid-send.

Target: 0 duplicates and 0 unaccounted for kpibot in every scenario.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlmodel import Session, col, select  # noqa: E402
from telegram.constants import ParseMode  # noqa: E402
from telegram.ext import AIORateLimiter, ExtBot  # noqa: E402

from bot.services import Services  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.telegram.network import RetryingRequest  # noqa: E402
from bot.telegram.notices import telegram_sender  # noqa: E402
from bot.telegram.transport import TelegramTransport, notice_keyboard  # noqa: E402
from db.models import NoticeDelivery  # noqa: E402
from db.session import make_engine  # noqa: E402
from scoring.outbox import DeliveryOutcome, OutboundMessage, OutboxSender, Outcome  # noqa: E402
from scoring.periods import Period  # noqa: E402
from tests.fake_bot_api import FakeBotApi  # noqa: E402
from tests.notices_helpers import lifecycle  # noqa: E402
from tests.outbox_harness import (  # noqa: E402
    BotProcess,
    Tally,
    bot_env,
    last_month,
    resend_in_flight,
    run_remind,
    seed_flagged_units,
    tally,
    unfinished,
    wait_until,
)

TOKEN = "4242:BENCH-TOKEN"
MONTH = Period.month(2026, 2)
RUN_AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


# ---------------------------------------------------------------- throughput


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


def make_bot(api: FakeBotApi) -> ExtBot[int]:
    """The bot as the application builds it: pooled HTTP, AIORateLimiter on."""
    return ExtBot(
        TOKEN,
        base_url=api.base_url,
        request=RetryingRequest(connection_pool_size=64, pool_timeout=120),
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
    sender = telegram_sender(bot, services, now=lambda: RUN_AT)
    async with bot:
        mark = api.mark()
        started = time.perf_counter()
        report = await sender.drain()
        seconds = time.perf_counter() - started
    assert report.sent == len(expected), report
    return Result(
        "outbox (claim, pace, send, commit)", report.sent, seconds, delivered(api, mark), expected
    )


async def direct(api: FakeBotApi, texts: list[tuple[int, int, str]]) -> Result:
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


def throughput(count: int, rate: float, url: str | None) -> None:
    """The throughput table."""
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            database_url=url or f"sqlite:///{folder}/bench.db",
            telegram_token=TOKEN,
            send_rate_per_second=rate,
            send_per_chat_interval=1.0,
            office_chat_ids=[],
        )
        services = Services(settings)
        expected = set(seed_flagged_units(services, count, MONTH))
        started = time.perf_counter()
        report = lifecycle(services, lambda: RUN_AT).run_month(MONTH, source="bench")
        run_seconds = time.perf_counter() - started
        assert len(report.notices) == count, len(report.notices)
        with Session(services.engine) as session:
            texts = [
                (int(row.address), row.notice_id or 0, row.text)
                for row in session.exec(select(NoticeDelivery).order_by(col(NoticeDelivery.id)))
            ]
        with FakeBotApi() as api:
            outbox = asyncio.run(through_outbox(api, services, expected))
            baseline = asyncio.run(direct(api, texts))
        with Session(services.engine) as session:
            statuses = Counter(session.exec(select(NoticeDelivery.status)))
        backend = services.engine.dialect.name
        services.close()
    print(
        f"{count} notices, configured rate {rate:g}/s, per chat 1/s, "
        f"{backend}; monthly run (rank, render, store, enqueue): {run_seconds:.2f} s"
    )
    print()
    print("| sender | messages | seconds | msg/s | vs configured rate | lost | duplicated |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for result in (outbox, baseline):
        share = result.throughput / rate
        print(
            f"| {result.name} | {result.count} | {result.seconds:.1f} | "
            f"{result.throughput:.1f} | {share:.1%} | {result.lost} | {result.duplicated} |"
        )
    print()
    print(f"outbox rows after the run: {dict(statuses)}")
    within = abs(outbox.throughput / rate - 1) <= 0.10
    clean = outbox.lost == 0 and outbox.duplicated == 0
    verdict = "met" if within and clean else "NOT met"
    print(f"target (within 10% of the rate, none lost or duplicated): {verdict}")


# ---------------------------------------------------------------- exactly once


class RetryOnTimeout:
    """The naive outbox's rule: no answer is read as "not sent" and tried again."""

    def __init__(self, inner: TelegramTransport) -> None:
        self.inner = inner
        self.channel = inner.channel

    async def deliver(self, message: OutboundMessage) -> DeliveryOutcome:
        outcome = await self.inner.deliver(message)
        if outcome.outcome is Outcome.UNCERTAIN:
            return DeliveryOutcome.retry_later(outcome.detail)
        return outcome


@contextmanager
def fresh_database(pg_url: str | None) -> Iterator[str]:
    """An empty database: a new SQLite file, or the PostgreSQL one wiped."""
    if pg_url is None:
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.db"
        return
    from tests.conftest import _reset_postgres

    _reset_postgres(pg_url)
    yield pg_url


def latency_scenario(naive: bool, count: int = 10) -> Tally:
    """Every answer 6 s late, past python-telegram-bot's 5 s read timeout."""
    with fresh_database(None) as url:
        settings = Settings(
            database_url=url,
            telegram_token=TOKEN,
            office_chat_ids=[],
            send_backoff_seconds=0.5,
            send_per_chat_interval=0.0,
            send_lease_seconds=60,
        )
        services = Services(settings)
        seed_flagged_units(services, count, MONTH)
        lifecycle(services, lambda: RUN_AT).run_month(MONTH, source="bench")
        with FakeBotApi() as api:
            api.latency = 6.0

            async def drain() -> None:
                bot: ExtBot[None] = ExtBot(TOKEN, base_url=api.base_url)  # 5 s read timeout
                transport = TelegramTransport(bot)
                async with bot:
                    await OutboxSender(
                        services.engine,
                        [RetryOnTimeout(transport) if naive else transport],
                        services.outbox_policy(),
                        now=lambda: datetime.now(UTC),
                    ).drain(wait_for_retries=60)

            asyncio.run(drain())
            result = tally(services.engine, api)
        services.close()
    return result


def _queued(url: str, count: int, api: FakeBotApi, folder: Path) -> None:
    services = Services(Settings(database_url=url, office_chat_ids=[]))
    month = last_month(services.today())
    seed_flagged_units(services, count, month)
    services.close()
    run_remind(url, month, bot_env(url, api), folder)


def _finish(url: str, survivor: BotProcess, api: FakeBotApi) -> Tally:
    engine = make_engine(url)
    try:
        wait_until(lambda: unfinished(engine) == 0, 120, "the outbox to settle")
        survivor.stop()
        return tally(engine, api)
    finally:
        engine.dispose()


def kill_scenario(naive: bool, count: int = 60) -> Tally:
    """``kill -9`` of the real ``kpibot run`` mid-send, then a restart."""
    with (
        fresh_database(None) as url,
        tempfile.TemporaryDirectory() as folder,
        FakeBotApi() as api,
    ):
        _queued(url, count, api, Path(folder))
        api.latency = 0.3
        env = bot_env(url, api)
        first = BotProcess(env, Path(folder), "first")
        wait_until(lambda: api.count() >= count // 3, 120, "the first sends")
        first.kill()
        if naive:
            resend_in_flight_after_lease(url)
        second = BotProcess(env, Path(folder), "second")
        return _finish(url, second, api)


def resend_in_flight_after_lease(url: str, worker_prefix: str | None = None) -> None:
    """The naive rule once a dead sender's lease runs out: all it held goes out again."""
    engine = make_engine(url)
    try:
        resend_in_flight(engine, worker_prefix)
    finally:
        engine.dispose()


def two_instances_scenario(naive: bool, pg_url: str, count: int = 200) -> Tally:
    """Two ``kpibot run`` on one PostgreSQL database; one killed mid-send."""
    with (
        fresh_database(pg_url) as url,
        tempfile.TemporaryDirectory() as folder,
        FakeBotApi() as api,
    ):
        _queued(url, count, api, Path(folder))
        api.latency = 0.2
        env = bot_env(url, api)
        doomed = BotProcess(env, Path(folder), "doomed")
        survivor = BotProcess(env, Path(folder), "survivor")
        wait_until(lambda: api.count() >= count // 3, 120, "both instances sending")
        prefix = doomed.worker_prefix
        doomed.kill()
        if naive:
            resend_in_flight_after_lease(url, prefix)
        return _finish(url, survivor, api)


SCENARIOS = ("latency", "kill", "two-instances")


def exactly_once(pg_url: str | None, chosen: Sequence[str] = SCENARIOS) -> bool:
    """The exactly-once table; True when kpibot met the target everywhere."""
    scenarios: list[tuple[str, Callable[[bool], Tally]]] = []
    if "latency" in chosen:
        scenarios.append(("6 s latency, 10 liaisons (SQLite)", latency_scenario))
    if "kill" in chosen:
        scenarios.append(("kill -9 mid-send, restart, 60 liaisons (SQLite)", kill_scenario))
    if pg_url and "two-instances" in chosen:
        scenarios.append(
            (
                "two instances, one killed, 200 liaisons (PostgreSQL)",
                lambda naive: two_instances_scenario(naive, pg_url),
            )
        )
    print("| scenario | sender | notices | delivered | duplicates | uncertain | unaccounted |")
    print("|---|---|---:|---:|---:|---:|---:|")
    met = True
    for name, scenario in scenarios:
        for label, naive in (("kpibot", False), ("baseline: naive retry", True)):
            started = time.perf_counter()
            result = scenario(naive)
            seconds = time.perf_counter() - started
            print(
                f"| {name} | {label} | {result.notices} | {result.delivered} | "
                f"{result.duplicates} | {result.uncertain} | {result.unaccounted} |",
                flush=True,
            )
            print(f"<!-- {label}: {seconds:.0f} s, rows {dict(result.statuses)} -->", flush=True)
            if not naive:
                met = met and result.duplicates == 0 and result.unaccounted == 0
    if not pg_url and "two-instances" in chosen:
        print("(two instances on PostgreSQL: skipped, pass --pg URL)")
    print()
    print(f"target (kpibot: 0 duplicates, 0 unaccounted): {'met' if met else 'NOT met'}")
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--db", help="throughput: database URL (default: a new SQLite file)")
    parser.add_argument("--pg", help="a PostgreSQL URL the two-instance scenario may wipe")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument(
        "--scenario",
        action="append",
        choices=SCENARIOS,
        help="exactly-once scenarios to run (default: all; repeat to choose several)",
    )
    options = parser.parse_args()
    if not options.skip_throughput:
        throughput(options.count, options.rate, options.db)
        print()
    exactly_once(options.pg, options.scenario or SCENARIOS)


if __name__ == "__main__":
    main()
