"""The WeCom door's speed through the real server, next to the Telegram door in the same run.

    python benchmarks/bench_wecom.py [--questions 600] [--concurrency 8]

One real ``kpibot run`` process serves both doors behind its one HTTP server: WeCom's
callback and Telegram's webhook, against loopback fakes of both APIs. Questions from the
labelled set are posted as WeCom posts them (encrypted, signed XML) and as Telegram posts a
webhook update, by ``--concurrency`` simulated users at a time, each waiting for its reply.
Timed per question: the HTTP answer to the callback (WeCom needs it within 5 s) and the time
from the POST to the reply reaching the fake API (``message/send`` or ``sendMessage``). The
bare matcher over the same questions, in this process, is the floor.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.services import Services  # noqa: E402
from bot.settings import Settings  # noqa: E402
from knowledge.evaluation import load_questions  # noqa: E402
from tests.fake_bot_api import FakeBotApi  # noqa: E402
from tests.fake_wecom_api import FakeWecomApi, WecomUser  # noqa: E402
from tests.telegram_helpers import seed  # noqa: E402
from tests.wecom_helpers import free_port, kpibot_run, wecom_env  # noqa: E402

QUESTIONS = ROOT / "tests" / "data" / "questions.yaml"
HOOK_SECRET = "bench-webhook-secret"


def percentile(values: list[float], share: float) -> float:
    """The ``share`` quantile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@dataclass
class Timings:
    """What one door measured."""

    answers: list[float] = field(default_factory=list)  # POST → HTTP answer
    replies: list[float] = field(default_factory=list)  # POST → reply at the fake API
    elapsed: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, answer: float, reply: float) -> None:
        with self.lock:
            self.answers.append(answer)
            self.replies.append(reply)


def row(name: str, timings: Timings) -> str:
    """One line of the table."""
    replies = timings.replies
    return (
        f"| {name} | {len(replies) / timings.elapsed:,.0f} | "
        f"{statistics.median(timings.answers) * 1000:.1f} ms | "
        f"{percentile(timings.answers, 0.99) * 1000:.1f} ms | "
        f"{statistics.median(replies) * 1000:.1f} ms | {percentile(replies, 0.99) * 1000:.1f} ms |"
    )


def drive(
    texts: list[str], concurrency: int, ask: Callable[[int, str], tuple[float, float]]
) -> Timings:
    """Ask every question, ``concurrency`` users at a time, each waiting for its reply."""
    timings = Timings()
    slots = [texts[i::concurrency] for i in range(concurrency)]

    def user(index: int) -> None:
        # Each question from another of this worker's 50 users: the Telegram door's flood
        # gate (20 updates in 10 s per user) must not drop any.
        for number, text in enumerate(slots[index]):
            timings.add(*ask(index * 50 + number % 50, text))

    started = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(user, range(concurrency)))
    timings.elapsed = time.monotonic() - started
    return timings


def wecom_asker(api: FakeWecomApi, user: WecomUser) -> Callable[[int, str], tuple[float, float]]:
    """One WeCom question: POST the callback, wait for the reply's first message/send."""

    def ask(index: int, text: str) -> tuple[float, float]:
        user_id = f"bench{index}"
        mark = api.mark()
        begin = time.monotonic()
        status, _ = user.say(user_id, text)
        answered = time.monotonic()
        assert status == 200
        (reply,) = api.wait_for(user_id, mark, timeout=60)
        return answered - begin, reply.at - begin

    return ask


def telegram_asker(api: FakeBotApi, hook: str) -> Callable[[int, str], tuple[float, float]]:
    """One Telegram question: POST the webhook update, wait for the sendMessage."""
    counter = iter(range(1, 10**9))
    lock = threading.Lock()

    def ask(index: int, text: str) -> tuple[float, float]:
        chat = 900_000 + index
        with lock:
            update_id = next(counter)
        update = {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": int(time.time()),
                "chat": {"id": chat, "type": "private"},
                "from": {"id": chat, "is_bot": False, "first_name": "用户"},
                "text": text,
            },
        }
        with api.lock:
            mark = len(api.attempts)
        begin = time.monotonic()
        request = urllib.request.Request(
            hook,
            data=json.dumps(update).encode(),
            headers={
                "Content-Type": "application/json",
                "X-Telegram-Bot-Api-Secret-Token": HOOK_SECRET,
            },
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
        answered = time.monotonic()
        deadline = time.monotonic() + 60
        with api.lock:
            while True:
                sent = [at for at, to in api.attempts[mark:] if to == chat]
                if sent:
                    return answered - begin, sent[0] - begin
                remaining = deadline - time.monotonic()
                assert remaining > 0, "no reply from the Telegram door"
                api.lock.wait(remaining)

    return ask


def bench(count: int, concurrency: int) -> None:
    """Run the measurements and print the table."""
    texts = [q.q for q in load_questions(QUESTIONS)]
    texts = (texts * (count // len(texts) + 1))[:count]
    with tempfile.TemporaryDirectory() as folder:
        database_url = f"sqlite:///{folder}/bench.db"
        services = Services(Settings(database_url=database_url))
        seed(services)
        matcher = services.matcher()
        assert matcher is not None
        floor = Timings()
        started = time.monotonic()
        for text in texts:
            begin = time.monotonic()
            matcher.match_question(text)
            floor.add(0.0, time.monotonic() - begin)
        floor.elapsed = time.monotonic() - started
        services.close()

        port = free_port()
        with FakeWecomApi() as wecom_api, FakeBotApi() as bot_api:
            env = wecom_env(database_url, wecom_api, port)
            hook = f"http://127.0.0.1:{port}/telegram/hook"
            env.update(
                {
                    "KPIBOT_TELEGRAM_TOKEN": "4242:BENCH-TOKEN",
                    "KPIBOT_TELEGRAM_BASE_URL": bot_api.base_url,
                    "KPIBOT_WEBHOOK_URL": hook,
                    "KPIBOT_WEBHOOK_SECRET": HOOK_SECRET,
                }
            )
            with kpibot_run(env, Path(folder), port) as run:
                user = WecomUser(run.callback_url)
                warm = texts[: min(40, len(texts))]
                drive(warm, concurrency, wecom_asker(wecom_api, user))
                drive(warm, concurrency, telegram_asker(bot_api, hook))
                wecom = drive(texts, concurrency, wecom_asker(wecom_api, user))
                telegram = drive(texts, concurrency, telegram_asker(bot_api, hook))
    print(
        f"{count} questions, {concurrency} users at a time, one `kpibot run` serving both doors\n"
    )
    print(
        "| path | questions/s | HTTP answer median | HTTP answer p99 | reply median | reply p99 |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    print(
        f"| bare matcher (floor) | {count / floor.elapsed:,.0f} | – | – | "
        f"{statistics.median(floor.replies) * 1000:.1f} ms | "
        f"{percentile(floor.replies, 0.99) * 1000:.1f} ms |"
    )
    print(row("Telegram webhook → sendMessage", telegram))
    print(row("WeCom callback → message/send", wecom))


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    bench(args.questions, args.concurrency)


if __name__ == "__main__":
    main()
