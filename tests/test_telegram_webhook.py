"""``kpibot run`` in webhook mode (real process, loopback Bot API) and its refusals."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bot.services import Services
from bot.settings import Settings
from tests.cli_helpers import kpibot
from tests.fake_bot_api import FakeBotApi
from tests.telegram_helpers import seed

ROOT = Path(__file__).resolve().parents[1]
SECRET = "e2e-webhook-secret"
USER = 7101


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def post_update(url: str, update: dict[str, object], secret: str) -> int:
    request = urllib.request.Request(
        url,
        data=json.dumps(update).encode(),
        headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret},
    )
    # The bot may register its webhook a moment before its server accepts connections (a
    # loaded machine makes the moment long): wait for it to listen, up to a deadline.
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
        except urllib.error.URLError as exc:
            if not isinstance(exc.reason, ConnectionRefusedError) or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def wait_for_method(api: FakeBotApi, method: str, timeout: float = 60.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with api.lock:
            for call in api.sent:
                if call.method == method:
                    return call.params
        time.sleep(0.05)
    raise AssertionError(f"no {method}; sent: {api.sent}")


def message_update(update_id: int, text: str) -> dict[str, object]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": USER, "type": "private"},
            "from": {"id": USER, "is_bot": False, "first_name": "用户"},
            "text": text,
        },
    }


def test_webhook_mode_registers_checks_the_secret_and_answers(
    database_url: str, tmp_path: Path
) -> None:
    services = Services(Settings(database_url=database_url))
    seed(services)
    services.close()
    port = free_port()
    hook = f"http://127.0.0.1:{port}/hook"
    with FakeBotApi() as api:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "KPIBOT_DATABASE_URL": database_url,
            "KPIBOT_TELEGRAM_TOKEN": "4242:WEBHOOK-TOKEN",
            "KPIBOT_TELEGRAM_BASE_URL": api.base_url,
            "KPIBOT_WEBHOOK_URL": hook,
            "KPIBOT_WEBHOOK_SECRET": SECRET,
        }
        log_path = tmp_path / "bot.log"
        with log_path.open("w") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run", "--listen", "127.0.0.1", "--port", str(port)],
                cwd=tmp_path,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                registered = wait_for_method(api, "setWebhook")
                assert registered["url"] == hook
                assert registered["secret_token"] == SECRET
                assert post_update(hook, message_update(1, "稅收收入完成率"), "wrong") == 403
                assert post_update(hook, message_update(2, "稅收收入完成率"), SECRET) == 200
                sent = wait_for_method(api, "sendMessage")
                assert str(sent["text"]).startswith("<b>【DL-01】税收收入完成率</b>")
                with api.lock:
                    assert sum(c.method == "sendMessage" for c in api.sent) == 1
            finally:
                process.send_signal(signal.SIGINT)
                try:
                    assert process.wait(timeout=60) == 0, log_path.read_text()
                finally:
                    if process.poll() is None:
                        process.kill()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "未配置任何渠道：请设置 KPIBOT_TELEGRAM_TOKEN"),
        (
            {"KPIBOT_WECOM_CORP_ID": "ww1"},
            "企业微信还缺少 KPIBOT_WECOM_AGENT_ID、KPIBOT_WECOM_SECRET",
        ),
        (
            {"KPIBOT_TELEGRAM_TOKEN": "1:x", "KPIBOT_WEBHOOK_URL": "https://example.invalid/h"},
            "webhook 模式需要配置 KPIBOT_WEBHOOK_SECRET",
        ),
    ],
)
def test_run_refuses_incomplete_settings(
    database_url: str, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for key in ("KPIBOT_TELEGRAM_TOKEN", "KPIBOT_WEBHOOK_URL", "KPIBOT_WEBHOOK_SECRET"):
        monkeypatch.delenv(key, raising=False)
    for key in [k for k in os.environ if k.startswith("KPIBOT_WECOM_")]:
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    run = kpibot(database_url, "run")
    assert run.code == 1
    assert message in run.err
