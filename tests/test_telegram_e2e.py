"""End to end: the real ``kpibot run`` process against a Bot API server on loopback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.services import Services
from bot.settings import Settings
from tests.cli_helpers import kpibot
from tests.fake_bot_api import FakeBotApi
from tests.telegram_helpers import seed

ROOT = Path(__file__).resolve().parents[1]
STAFF, ADMIN = 7001, 7002


@pytest.fixture
def running_bot(database_url: str, tmp_path: Path) -> Iterator[tuple[FakeBotApi, str]]:
    services = Services(Settings(database_url=database_url))
    seed(services)
    services.close()
    with FakeBotApi() as api:
        env = {
            **os.environ,
            "KPIBOT_DATABASE_URL": database_url,
            "KPIBOT_TELEGRAM_TOKEN": "4242:E2E-TOKEN",
            "KPIBOT_TELEGRAM_BASE_URL": api.base_url,
        }
        env.pop("KPIBOT_WEBHOOK_URL", None)
        log = (tmp_path / "bot.log").open("w")
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=tmp_path,
            env={**env, "PYTHONPATH": str(ROOT)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield api, database_url
        finally:
            process.send_signal(signal.SIGINT)
            try:
                assert process.wait(timeout=60) == 0, (tmp_path / "bot.log").read_text()
            finally:
                if process.poll() is None:
                    process.kill()
                log.close()


def invite(database_url: str, *args: str) -> str:
    run = kpibot(database_url, "users", "invite", *args)
    assert run.code == 0, run.err
    return run.out.strip().splitlines()[-1]


def test_users_bind_ask_press_and_see_scores_change(running_bot: tuple[FakeBotApi, str]) -> None:
    api, database_url = running_bot
    staff_code = invite(database_url, "--role", "staff", "--unit", "NB01")
    admin_code = invite(database_url, "--role", "admin")

    mark = api.mark()
    api.say(STAFF, f"/start {staff_code}")
    assert "绑定成功" in api.wait_for("sendMessage", STAFF, mark).text

    mark = api.mark()
    api.say(STAFF, f"/start {staff_code}")
    assert api.wait_for("sendMessage", STAFF, mark).text.startswith("该邀请码已被使用过")

    mark = api.mark()
    api.say(STAFF, "税收收入完成率怎么算")
    card = api.wait_for("sendMessage", STAFF, mark)
    assert card.text.startswith("<b>【DL-01】税收收入完成率</b>")

    mark = api.mark()
    api.press(STAFF, card, "lvl:DL-01:派出机构")
    edited = api.wait_for("editMessageText", STAFF, mark)
    assert "<b>派出机构解读</b>" in edited.text

    mark = api.mark()
    api.say(STAFF, "/score")
    assert "本期尚无考核数据" in api.wait_for("sendMessage", STAFF, mark).text  # nothing yet

    mark = api.mark()
    api.say(STAFF, "/add NB01 JF-01 2 表扬")
    assert api.wait_for("sendMessage", STAFF, mark).text.startswith("抱歉，该功能仅限绩效办")

    mark = api.mark()
    api.say(ADMIN, f"/start {admin_code}")
    api.wait_for("sendMessage", ADMIN, mark)
    mark = api.mark()
    api.say(ADMIN, "/add NB01 JF-01 2 市局通报表扬")
    confirm = api.wait_for("sendMessage", ADMIN, mark)
    mark = api.mark()
    api.press(ADMIN, confirm, confirm.buttons[0][1])
    assert api.wait_for("editMessageText", ADMIN, mark).text.startswith("已录入第 1 条")

    mark = api.mark()
    api.say(STAFF, "/score")
    assert "得分：102 分" in api.wait_for("sendMessage", STAFF, mark).text
    mark = api.mark()
    api.say(STAFF, "/rank")
    assert "<b>▶ 1. 第一税务所　102</b>" in api.wait_for("sendMessage", STAFF, mark).text
