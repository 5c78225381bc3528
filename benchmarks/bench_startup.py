"""Start-up cost: CPU seconds of a fresh process, for the commands people start most.

    python benchmarks/bench_startup.py [--runs 5]

Each line is a fresh Python process, timed by the CPU it used (user + system, from
``getrusage`` of the finished child) and by wall clock; the median of ``--runs`` runs is
shown. The baselines run in the same session, on the same machine and under the same load:
an empty interpreter, and ``import sqlalchemy.orm`` (what any command touching the database
must pay). Measured:

- ``kpibot --help``: the command line's help page (target ≤ 0.5 s CPU);
- ``kpibot ask "…"``: one question on the 48-indicator sample in SQLite (target ≤ 1 s CPU);
- first bot answer: a process that builds the Telegram bot (offline) and answers its first
  question, through the real ``Application``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
QUESTION = "纳税人满义度怎么算"
FIRST_ANSWER = """
import asyncio, sys
sys.path.insert(0, {root!r})
from tests.telegram_helpers import RecordingRequest, Users
from bot.services import Services
from bot.settings import Settings
from bot.telegram.app import build_application

async def main() -> None:
    request = RecordingRequest()
    services = Services(Settings(database_url={url!r}, telegram_token="1:offline"))
    app = build_application(services, request=request, get_updates_request=request,
                            rate_limit=False)
    async with app:
        await app.process_update(Users(app.bot).message({question!r}, user_id=42))
    services.close()
    assert request.calls[-1].text.startswith("<b>【DL-04】"), request.calls[-1].text

asyncio.run(main())
"""


def measure(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """CPU seconds and wall seconds of one run of ``command`` (which must succeed)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL, cwd=ROOT)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    kpibot = [PYTHON, "-m", "bot"]
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/startup.db"
        env = {**os.environ, "KPIBOT_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
        sample = str(ROOT / "knowledge" / "rulebooks" / "tax_bureau_2026.yaml")
        subprocess.run(
            [*kpibot, "rulebook", "import", sample], check=True, env=env, stdout=subprocess.DEVNULL
        )
        cases = [
            ("baseline: python -c pass", [PYTHON, "-c", "pass"], None),
            ("baseline: import sqlalchemy.orm", [PYTHON, "-c", "import sqlalchemy.orm"], None),
            ("kpibot --help", [*kpibot, "--help"], 0.5),
            (f"kpibot ask “{QUESTION}” (48 items)", [*kpibot, "ask", QUESTION], 1.0),
            (
                "bot: start and first answer",
                [PYTHON, "-c", FIRST_ANSWER.format(root=str(ROOT), url=url, question=QUESTION)],
                None,
            ),
        ]
        print(f"start-up, median of {runs} fresh processes (CPU = user + system)")
        print("| process | CPU s | wall s | target CPU s |")
        print("|---|---|---|---|")
        for name, command, target in cases:
            samples = [measure(command, env) for _ in range(runs)]
            cpu = statistics.median(c for c, _ in samples)
            wall = statistics.median(w for _, w in samples)
            goal = f"≤ {target}" if target is not None else ""
            print(f"| {name} | {cpu:.2f} | {wall:.2f} | {goal} |")


if __name__ == "__main__":
    main()
