"""The Telegram bot's speed offline: whole updates through ``Application.process_update``.

    python benchmarks/bench_bot.py [--questions 3000] [--concurrency 1]

Questions from the labelled set go through the real Application (handlers, permission check,
matcher, SQLite database, templates, the outgoing call captured by an offline request) and are
timed one by one; the bare matcher over the same questions is the baseline. Targets on the
reference machine: ≥ 300 questions/s and p99 ≤ 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.services import Services  # noqa: E402
from bot.telegram.door import SERVICES  # noqa: E402
from knowledge.evaluation import load_questions  # noqa: E402
from tests.telegram_helpers import RecordingRequest, Users, make_application  # noqa: E402

QUESTIONS = ROOT / "tests" / "data" / "questions.yaml"


def percentile(values: list[float], share: float) -> float:
    """The ``share`` quantile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(name: str, total: float, latencies: list[float]) -> None:
    """One line of results."""
    print(
        f"{name:<28} {len(latencies) / total:>9.0f} q/s   "
        f"median {statistics.median(latencies) * 1000:6.2f} ms   "
        f"p99 {percentile(latencies, 0.99) * 1000:6.2f} ms"
    )


async def bench(count: int, concurrency: int) -> None:
    """Run both measurements."""
    texts = [q.q for q in load_questions(QUESTIONS)]
    texts = (texts * (count // len(texts) + 1))[:count]
    with tempfile.TemporaryDirectory() as folder:
        request = RecordingRequest()
        app = make_application(f"sqlite:///{folder}/bench.db", request)
        users = Users(app.bot)
        services: Services = app.bot_data[SERVICES]
        matcher = services.matcher()
        assert matcher is not None

        latencies: list[float] = []
        started = time.perf_counter()
        for text in texts:
            begin = time.perf_counter()
            matcher.match_question(text)
            latencies.append(time.perf_counter() - begin)
        report("bare matcher", time.perf_counter() - started, latencies)

        updates = [users.message(text, user_id=10_000 + i % 50) for i, text in enumerate(texts)]
        async with app:
            for update in updates[:20]:  # warm-up
                await app.process_update(update)
            latencies = []
            semaphore = asyncio.Semaphore(concurrency)

            async def one(update: object) -> None:
                async with semaphore:
                    begin = time.perf_counter()
                    await app.process_update(update)
                    latencies.append(time.perf_counter() - begin)

            started = time.perf_counter()
            await asyncio.gather(*(one(u) for u in updates))
            report(f"bot end to end (x{concurrency})", time.perf_counter() - started, latencies)
            sent = sum(1 for c in request.take() if c.method == "sendMessage")
            print(f"replies sent: {sent}")
        services.close()


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args()
    asyncio.run(bench(args.questions, args.concurrency))


if __name__ == "__main__":
    main()
