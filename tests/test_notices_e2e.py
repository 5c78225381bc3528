"""End to end: monthly notices through the real ``kpibot run`` process and a loopback Bot API.

A notice issued for February (its deadline long past) is reminded and escalated by the
running bot's follow-up; October's notice is acknowledged and answered with measures; the
office asks for the digest. The CLI queues, the running bot sends.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest

from bot.services import Services
from bot.settings import Settings
from db import users_store
from db.users_store import Role
from scoring import entry
from tests.cli_helpers import kpibot
from tests.fake_bot_api import FakeBotApi, Sent
from tests.notices_helpers import ADMIN, LIAISON_GS01, LIAISON_NB03, seed_month

ROOT = Path(__file__).resolve().parents[1]
OFFICE = -100500


def _prepare(database_url: str) -> None:
    """February's bottom units (GS01's liaison bound), then October's (NB03's liaison)."""
    services = Services(Settings(database_url=database_url))
    seed_month(services, liaisons=False)
    with services.session() as session:
        users_store.bind_user(
            session=session, telegram_id=LIAISON_GS01, role=Role.LIAISON, unit_code="GS01"
        )
        users_store.bind_user(session=session, telegram_id=ADMIN, role=Role.ADMIN)
    services.close()
    run = kpibot(database_url, "remind", "--month", "2026-02", "--today", "2026-03-02")
    assert run.code == 0, run.err
    services = Services(Settings(database_url=database_url))
    with services.session() as session:
        users_store.bind_user(
            session=session, telegram_id=LIAISON_NB03, role=Role.LIAISON, unit_code="NB03"
        )
        for unit in ("NB01", "NB02"):  # NB03 alone stays at 100: October's bottom
            entry.add_entry(
                session=session,
                unit=unit,
                indicator="JF-01",
                points="1",
                entry_date=date(2026, 10, 10),
                note="表扬",
                entered_by="test",
                today=date(2026, 10, 31),
            )
    services.close()
    run = kpibot(database_url, "remind", "--month", "2026-10", "--no-send")
    assert run.code == 0, run.err


@pytest.fixture
def running_bot(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeBotApi]:
    monkeypatch.delenv("KPIBOT_TELEGRAM_TOKEN", raising=False)
    monkeypatch.setenv("KPIBOT_OFFICE_CHAT_IDS", f"[{OFFICE}]")  # the CLI's office, too
    _prepare(database_url)
    with FakeBotApi() as api:
        env = {
            **os.environ,
            "KPIBOT_DATABASE_URL": database_url,
            "KPIBOT_TELEGRAM_TOKEN": "4242:E2E-TOKEN",
            "KPIBOT_TELEGRAM_BASE_URL": api.base_url,
            "KPIBOT_OFFICE_CHAT_IDS": f"[{OFFICE}]",
            "KPIBOT_OUTBOX_POLL_SECONDS": "0.3",
            "KPIBOT_FOLLOW_UP_INTERVAL_SECONDS": "0.5",
            "KPIBOT_SEND_PER_CHAT_INTERVAL": "0.05",
            "PYTHONPATH": str(ROOT),
        }
        env.pop("KPIBOT_WEBHOOK_URL", None)
        log = (tmp_path / "bot.log").open("w")
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield api
        finally:
            process.send_signal(signal.SIGINT)
            try:
                assert process.wait(timeout=60) == 0, (tmp_path / "bot.log").read_text()
            finally:
                if process.poll() is None:
                    process.kill()
                log.close()


def wait(api: FakeBotApi, method: str, chat: int | None, found: Callable[[str], bool]) -> Sent:
    """The first ``method`` call to ``chat`` (any chat: None) whose text satisfies ``found``;
    it returns as soon as the call comes, and allows 60 s so that a loaded machine's slow
    start of the bot process does not fail it."""
    deadline = time.monotonic() + 60
    with api.lock:
        while True:
            for call in api.sent:
                if (
                    call.method == method
                    and (chat is None or str(call.params.get("chat_id")) == str(chat))
                    and found(call.text)
                ):
                    return call
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no matching {method} to {chat}: {api.sent}")
            api.lock.wait(remaining)


def test_notice_ack_measures_reminder_and_escalation(running_bot: FakeBotApi) -> None:
    api = running_bot
    # February: delivered, then reminded (never acknowledged) and escalated (deadline past).
    wait(api, "sendMessage", LIAISON_GS01, lambda t: t.startswith("<b>【整改通报】2026年2月"))
    wait(api, "sendMessage", LIAISON_GS01, lambda t: t.startswith("<b>【提醒】2026年2月"))
    wait(api, "sendMessage", OFFICE, lambda t: t.startswith("<b>【督办】办公室逾期未报送"))
    # NB03 had no liaison in February: the office is told, and it is escalated too.
    digest = wait(api, "sendMessage", OFFICE, lambda t: t.startswith("<b>2026年2月整改通报汇总"))
    assert "未绑定绩效联络员" in digest.text
    wait(api, "sendMessage", ADMIN, lambda t: t.startswith("<b>【督办】第三税务所逾期未报送"))

    # October: NB03's liaison acknowledges and reports measures.
    notice = wait(
        api, "sendMessage", LIAISON_NB03, lambda t: t.startswith("<b>【整改通报】2026年10月")
    )
    ack, measures = (data for _, data in notice.buttons)
    api.press(LIAISON_NB03, notice, ack)
    wait(api, "answerCallbackQuery", None, lambda t: t.startswith("已确认阅读2026年10月整改通报"))
    api.press(LIAISON_NB03, notice, measures)
    wait(api, "sendMessage", LIAISON_NB03, lambda t: t.startswith("请直接回复一条文字消息"))
    api.say(LIAISON_NB03, "加强申报辅导，每周复核逾期清单。")
    wait(api, "sendMessage", LIAISON_NB03, lambda t: t.startswith("已收到您报送的2026年10月"))
    wait(api, "sendMessage", OFFICE, lambda t: t.startswith("<b>【整改措施】第三税务所已报送"))

    # The office asks for October's digest.
    api.say(ADMIN, "/notices 2026-10")
    digest = wait(api, "sendMessage", ADMIN, lambda t: "已阅：是" in t)
    assert "2026年10月整改通报汇总" in digest.text
    assert f"{LIAISON_NB03} 已送达" in digest.text
    assert "已阅：是" in digest.text
    assert "整改措施：已报送" in digest.text
    # October's notice was neither reminded nor escalated.
    assert not [c for c in api.sent_to(LIAISON_NB03) if "【提醒】2026年10月" in c.text]
    # NB03's liaison bound after February's notice was issued: they got it, and its reminder,
    # which carries the notice itself; each once.
    wait(api, "sendMessage", LIAISON_NB03, lambda t: t.startswith("<b>【提醒】2026年2月"))
    february = [c for c in api.sent_to(LIAISON_NB03) if "2026年2月" in c.text]
    assert [c.text.split("</b>")[0] for c in february] == [
        "<b>【整改通报】2026年2月 · 第三税务所",
        "<b>【提醒】2026年2月整改通报尚未确认阅读",
    ]
    assert "【整改通报】2026年2月 · 第三税务所" in february[1].text
