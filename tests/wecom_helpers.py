"""Running the real ``kpibot run`` with the WeCom door against the loopback fake WeCom API."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.cli_helpers import kpibot
from tests.fake_wecom_api import AES_KEY, AGENT_ID, CORP_ID, SECRET, TOKEN, FakeWecomApi

ROOT = Path(__file__).resolve().parents[1]
CALLBACK_PATH = "/wecom/callback"


def free_port() -> int:
    """A port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wecom_env(database_url: str, api: FakeWecomApi, port: int) -> dict[str, str]:
    """The environment of a ``kpibot run`` with the WeCom door on loopback."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("KPIBOT_TELEGRAM", "KPIBOT_WEBHOOK", "KPIBOT_WECOM"))
    }
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "KPIBOT_DATABASE_URL": database_url,
            "KPIBOT_LISTEN": f"127.0.0.1:{port}",
            "KPIBOT_WECOM_CORP_ID": CORP_ID,
            "KPIBOT_WECOM_AGENT_ID": str(AGENT_ID),
            "KPIBOT_WECOM_SECRET": SECRET,
            "KPIBOT_WECOM_TOKEN": TOKEN,
            "KPIBOT_WECOM_AES_KEY": AES_KEY,
            "KPIBOT_WECOM_BASE_URL": api.base_url,
        }
    )
    return env


def wait_healthy(base_url: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Until ``/healthz`` answers 200 (every door started), or fail with the process's fate."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"kpibot run exited with {process.returncode}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as answer,
        ):
            if answer.status == 200:
                return
        time.sleep(0.05)
    raise AssertionError("kpibot run never became healthy")


@dataclass
class Running:
    """A running ``kpibot run`` process and where it listens."""

    process: subprocess.Popen[bytes]
    base_url: str
    log: Path

    @property
    def callback_url(self) -> str:
        """The WeCom callback URL."""
        return f"{self.base_url}{CALLBACK_PATH}"


@contextlib.contextmanager
def kpibot_run(env: dict[str, str], workdir: Path, port: int) -> Iterator[Running]:
    """``kpibot run`` as a child process, stopped with SIGINT (it must exit 0)."""
    log_path = workdir / f"run-{port}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        running = Running(process, f"http://127.0.0.1:{port}", log_path)
        try:
            wait_healthy(running.base_url, process)
            yield running
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
            try:
                code = process.wait(timeout=20)
                assert code == 0, log_path.read_text()
            finally:
                if process.poll() is None:
                    process.kill()


def invite(database_url: str, *args: str) -> str:
    """A fresh invite code from the real CLI."""
    run = kpibot(database_url, "users", "invite", *args)
    assert run.code == 0, run.err
    return run.out.strip().splitlines()[-1]
