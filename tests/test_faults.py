"""Faults give one clear sentence, never a traceback (issue 8 §6).

Malformed and edited updates through the real polling loop of ``kpibot run`` against the
loopback Bot API; an unreachable, read-only, full or dropped database and an old schema
through the real command line; forged button payloads through the real Application.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy.exc import OperationalError

from bot.cli import main as cli_main
from bot.core.dispatcher import internal_error, new_error_id
from bot.core.faults import DISK_FULL, READ_ONLY, UNREACHABLE
from bot.services import Services
from bot.settings import Settings
from db.schema import _config
from db.session import make_engine
from tests.fake_bot_api import FakeBotApi
from tests.malformed_updates import MALFORMED
from tests.scoring_helpers import UNITS, load_sample, write_csv
from tests.telegram_helpers import RecordingRequest, Users, make_application, seed

ROOT = Path(__file__).resolve().parents[1]
USER = 9100
SECRET_PARAMETER = "秘密参数13957468213"


def kpibot_process(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The real ``python -m bot`` process."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_one_sentence(stderr: str, sentence: str) -> None:
    assert stderr == sentence + "\n"
    assert "Traceback" not in stderr


# ---------------------------------------------------------------- the polling loop


@pytest.fixture
def polling_bot(database_url: str, tmp_path: Path) -> Iterator[tuple[FakeBotApi, Path]]:
    services = Services(Settings(database_url=database_url))
    seed(services)
    services.close()
    log_path = tmp_path / "bot.log"
    with FakeBotApi() as api, log_path.open("w") as log:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "KPIBOT_DATABASE_URL": database_url,
            "KPIBOT_TELEGRAM_TOKEN": "4242:E2E-TOKEN",
            "KPIBOT_TELEGRAM_BASE_URL": api.base_url,
        }
        env.pop("KPIBOT_WEBHOOK_URL", None)
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield api, log_path
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            finally:
                if process.poll() is None:
                    process.kill()


def test_malformed_updates_are_skipped_once_and_the_bot_still_answers(
    polling_bot: tuple[FakeBotApi, Path],
) -> None:
    api, log_path = polling_bot
    ids = [api.push_raw(update) for _, update in MALFORMED]
    mark = api.mark()
    api.say(USER, "税收收入完成率怎么算")
    answer = api.wait_for("sendMessage", USER, mark, timeout=60)
    assert answer.text.startswith("<b>【DL-01】税收收入完成率</b>")
    log = log_path.read_text(encoding="utf-8")
    skipped = [i for i in ids if f"update {i} skipped" in log]
    # Every update python-telegram-bot cannot parse, or that has a field of a wrong type, is
    # logged once; the two that parse into an empty update (null message, unknown kind) need
    # no skipping.
    assert len(skipped) == len(MALFORMED) - 2
    assert all(log.count(f"update {i} skipped") == 1 for i in skipped)
    assert "Error while parsing updates" not in log


def test_an_edited_message_is_not_answered_again(polling_bot: tuple[FakeBotApi, Path]) -> None:
    api, _ = polling_bot
    edited = {
        "message_id": 77,
        "date": int(time.time()),
        "edit_date": int(time.time()),
        "chat": {"id": USER, "type": "private"},
        "from": {"id": USER, "is_bot": False, "first_name": "用户"},
        "text": "信访投诉扣几分",
    }
    api.push_raw({"edited_message": edited})
    mark = api.mark()
    api.say(USER, "/help")
    api.wait_for("sendMessage", USER, mark, timeout=60)
    replies = [call.text for call in api.sent_to(USER)]
    assert len(replies) == 1  # the help, and nothing for the edit
    assert "KF-" not in replies[0]


# ---------------------------------------------------------------- the database and the disk


def test_an_unreachable_database_is_one_sentence() -> None:
    done = kpibot_process(
        "--db", "postgresql+psycopg://postgres@127.0.0.1:1/kpibot", "ledger", "list"
    )
    assert done.returncode == cli_main.FAULT_EXIT_CODE
    assert_one_sentence(done.stderr, UNREACHABLE)


def test_a_read_only_database_is_one_sentence(tmp_path: Path) -> None:
    path = tmp_path / "kpibot.db"
    load_sample(f"sqlite:///{path}")
    units = write_csv(tmp_path / "units.csv", UNITS)
    done = kpibot_process(
        "--db", f"sqlite:///file:{path}?mode=ro&uri=true", "units", "import", str(units)
    )
    assert done.returncode == cli_main.FAULT_EXIT_CODE
    assert_one_sentence(done.stderr, READ_ONLY)


def test_an_old_schema_stops_kpibot_run_with_one_sentence(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    command.upgrade(_config(engine), "0004")
    engine.dispose()
    env = {
        "KPIBOT_TELEGRAM_TOKEN": "4242:E2E-TOKEN",
        "KPIBOT_TELEGRAM_BASE_URL": "http://127.0.0.1:9/bot",
    }
    done = kpibot_process("--db", url, "run", env=env)
    assert done.returncode == 2
    assert done.stderr.startswith("数据库结构版本较旧")
    assert done.stderr.count("\n") == 1
    assert "kpibot db upgrade" in done.stderr


def _fault(message: str) -> OperationalError:
    """What SQLAlchemy raises when the driver fails, with the statement and its parameters."""
    return OperationalError(
        "INSERT INTO unit (code, name) VALUES (?, ?)",
        {"code": "GS01", "name": SECRET_PARAMETER},
        sqlite3.OperationalError(message),
    )


@pytest.mark.parametrize(
    ("message", "sentence"),
    [
        ("database or disk is full", DISK_FULL),
        ("server closed the connection unexpectedly", UNREACHABLE),
        ("terminating connection due to administrator command", UNREACHABLE),
    ],
)
def test_a_full_disk_or_dropped_database_midway_is_one_sentence(
    message: str,
    sentence: str,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    load_sample(database_url)
    units = write_csv(tmp_path / "units.csv", UNITS)

    def failing(**_: object) -> None:
        raise _fault(message)

    monkeypatch.setattr("db.scoring_store.upsert_units", failing)
    monkeypatch.setattr(
        sys, "argv", ["kpibot", "--db", database_url, "units", "import", str(units)]
    )
    with pytest.raises(SystemExit) as stopped:
        cli_main.run()
    assert stopped.value.code == cli_main.FAULT_EXIT_CODE
    out, err = capsys.readouterr()
    assert_one_sentence(err, sentence)
    assert SECRET_PARAMETER not in out + err


async def test_a_database_fault_in_the_bot_is_told_without_sql(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = RecordingRequest()
    app = make_application(database_url, request)
    async with app:

        def failing(text: str, *, channel: str, asked_by: str = "") -> None:
            raise _fault("server closed the connection unexpectedly")

        services = app.bot_data["kpibot.services"]
        monkeypatch.setattr(services.conversation, "ask", failing)
        await app.process_update(Users(app.bot).message("税收收入完成率", user_id=USER))
        [reply] = [c for c in request.take() if c.method == "sendMessage"]
    services.close()
    assert reply.text.startswith(UNREACHABLE + "（错误编号 ")
    assert SECRET_PARAMETER not in reply.text
    assert "INSERT" not in reply.text


# ---------------------------------------------------------------- forged buttons


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ("why:GS01:2026-03", "抱歉，该功能仅向已绑定单位的用户开放。"),
        ("add:ok:deadbeef", "抱歉，该功能仅限绩效办使用。"),
        ("nt:ack:999999999", None),
        ("ind:KF-02' OR 1=1 --", "该按钮已失效，请重新提问。"),
        ("x" * 64, "该按钮已失效，请重新提问。"),
        ("lvl:KF-02:局长", "该按钮已失效，请重新提问。"),
    ],
)
async def test_a_forged_button_gets_one_line_and_changes_nothing(
    database_url: str, payload: str, expected: str | None
) -> None:
    request = RecordingRequest()
    app = make_application(database_url, request)
    async with app:
        await app.process_update(Users(app.bot).press(payload, user_id=USER))
        calls = request.take()
    app.bot_data["kpibot.services"].close()
    [answer] = [c for c in calls if c.method == "answerCallbackQuery"]
    assert "\n" not in answer.text
    assert not answer.text.startswith("抱歉，处理您的请求时出错了")
    if expected is not None:
        assert answer.text.startswith(expected), answer.text
    assert [c.method for c in calls if c.method != "answerCallbackQuery"] == []


def test_an_error_id_is_never_hidden_as_a_phone_number(monkeypatch: pytest.MonkeyPatch) -> None:
    """An id of eight decimal digits would be masked (电话已隐去) on its way out, and the user
    could no longer quote it; such an id is drawn again."""
    drawn = iter([uuid.UUID(int=0x55195904 << 96), uuid.UUID(int=0x5519590A << 96)])
    monkeypatch.setattr(uuid, "uuid4", lambda: next(drawn))
    assert internal_error("55195904").text.count("55195904") == 0  # what the mask would do
    error_id = new_error_id()
    assert error_id == "5519590a"
    assert f"错误编号 {error_id}）" in internal_error(error_id).text
