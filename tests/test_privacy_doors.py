"""Personal data never leaves, whatever door it would leave by (issue 8 §1).

A ledger note and a question carry a mobile number; every surface that shows them (the
Telegram bot's /why in a private chat and a group, the why button, /add's confirmation,
/unanswered; the console's /why; the CLI's score, ledger list and report unanswered, as text
and JSON) shows the mask instead. The database keeps what was entered, and ``--unmasked``
shows it to the office at the server, with a warning in the log.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlmodel import select

from bot.core.boundary import seal
from bot.core.reply import Attachment, Reply
from bot.services import Services
from bot.telegram.door import SERVICES
from db import users_store
from db.models import LedgerEntry, QuestionLog
from db.users_store import Role
from knowledge.privacy import PHONE_MASK
from tests.cli_helpers import kpibot
from tests.privacy_helpers import carries_digits_of
from tests.scoring_helpers import setup_units
from tests.telegram_helpers import Call, RecordingRequest, Users, make_application

# Digits that no amount, date or count of these tests repeats four in a row.
PHONE = "13957468213"
ID_NUMBER = "32058419730815627X"
ISSUE_PHONE = "13900001111"  # the issue's example
NOTE = f"联系人 {PHONE}，身份证 {ID_NUMBER}"
QUESTION = f"我的手机{PHONE}收不到验证码怎么办"
ADMIN, LIAISON = 703, 702
GROUP = -1001


def assert_masked(text: str) -> None:
    assert PHONE_MASK in text, text
    assert not carries_digits_of(text, PHONE), text
    assert not carries_digits_of(text, ID_NUMBER), text


# ---------------------------------------------------------------- the command line


@pytest.fixture
def cli_url(database_url: str, tmp_path: Path) -> str:
    """Five units, and one ledger entry whose note carries a phone and an ID number."""
    setup_units(database_url, tmp_path)
    return database_url


def test_the_issue_reproduction_shows_no_phone(cli_url: str) -> None:
    note = f"联系人 {ISSUE_PHONE}"
    args = ("ledger", "add", "GS01", "KF-02", "0.5", "--date", "2026-11-20", "--note", note)
    added = kpibot(cli_url, *args)
    assert added.code == 0, added.err
    chat = kpibot(cli_url, "chat", "--as", "admin", stdin="/why GS01 2026-11\n")
    assert chat.code == 0, chat.err
    assert f"联系人 {PHONE_MASK}" in chat.out
    # Amounts such as 100.00 hold 0000; no number shown holds 7 digits of the phone.
    assert not carries_digits_of(chat.out, ISSUE_PHONE, width=7)
    assert not carries_digits_of(added.out, ISSUE_PHONE, width=7)


def test_cli_text_and_json_are_masked_and_the_ledger_keeps_the_note(cli_url: str) -> None:
    assert kpibot(cli_url, "ledger", "add", "GS01", "KF-02", "0.5", "--note", NOTE).code == 0
    listed = kpibot(cli_url, "ledger", "list")
    assert_masked(listed.out)
    entries = json.loads(kpibot(cli_url, "ledger", "list", "--json").out)
    assert [e["note"] for e in entries] == [f"联系人 {PHONE_MASK}，身份证 [证件号已隐去]"]
    period = entries[0]["date"][:7]
    score = kpibot(cli_url, "score", "GS01", "--period", period)
    assert score.code == 0, score.err
    assert_masked(score.out)
    as_json = kpibot(cli_url, "score", "GS01", "--period", period, "--json")
    assert_masked(as_json.out)
    json.loads(as_json.out)  # still valid JSON
    raw = kpibot(cli_url, "ledger", "list", "--json", unmasked=True)
    assert json.loads(raw.out)[0]["note"] == NOTE  # the ledger keeps what was entered


def test_unanswered_report_is_masked(cli_url: str) -> None:
    asked = kpibot(cli_url, "ask", QUESTION)
    assert asked.code == 0, asked.err
    assert not carries_digits_of(asked.out, PHONE)
    report = kpibot(cli_url, "report", "unanswered")
    assert QUESTION.replace(PHONE, PHONE_MASK) in report.out
    assert_masked(report.out)
    as_json = kpibot(cli_url, "report", "unanswered", "--json")
    assert_masked(as_json.out)
    json.loads(as_json.out)


def test_unmasked_output_is_logged_with_who_and_what(
    cli_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert kpibot(cli_url, "ledger", "add", "GS01", "KF-02", "0.5", "--note", NOTE).code == 0
    with caplog.at_level(logging.WARNING, logger="bot.cli.main"):
        raw = kpibot(cli_url, "ledger", "list", unmasked=True)
    assert PHONE in raw.out
    [record] = [r for r in caplog.records if r.name == "bot.cli.main"]
    assert record.levelno == logging.WARNING
    assert "unmasked" in record.getMessage()
    assert "ledger list" in record.getMessage()


# ---------------------------------------------------------------- the Telegram bot


@dataclass
class Bot:
    app: object
    request: RecordingRequest
    users: Users

    @property
    def services(self) -> Services:
        services = self.app.bot_data[SERVICES]  # type: ignore[attr-defined]
        assert isinstance(services, Services)
        return services

    async def send(self, text: str, *, user_id: int, chat_id: int | None = None) -> Call:
        update = self.users.message(text, user_id=user_id, chat_id=chat_id)
        await self.app.process_update(update)  # type: ignore[attr-defined]
        [call] = [c for c in self.request.take() if c.method == "sendMessage"]
        return call

    async def press(self, data: str, *, user_id: int) -> Call:
        await self.app.process_update(self.users.press(data, user_id=user_id))  # type: ignore[attr-defined]
        return self.request.take()[-1]


@pytest.fixture
async def bot(database_url: str) -> AsyncIterator[Bot]:
    request = RecordingRequest()
    app = make_application(database_url, request)
    async with app:
        tested = Bot(app, request, Users(app.bot))
        for user_id, role, unit in ((ADMIN, Role.ADMIN, None), (LIAISON, Role.LIAISON, "NB02")):
            with tested.services.session() as session:
                code = users_store.create_invite(
                    session=session, role=role, unit_code=unit, created_by="test"
                )
            assert "绑定成功" in (await tested.send(f"/start {code}", user_id=user_id)).text
        yield tested
    tested.services.close()


async def test_add_confirmation_why_and_the_why_button_are_masked(bot: Bot) -> None:
    confirm = await bot.send(f"/add NB02 JF-01 2 {NOTE}", user_id=ADMIN)
    assert_masked(confirm.text)
    ok = next(data for label, data in confirm.buttons if label.startswith("✅"))
    done = await bot.press(ok, user_id=ADMIN)
    assert done.text.startswith("已录入第 1 条台账记录"), done.text
    assert_masked(done.text)
    with bot.services.session() as session:
        assert [e.note for e in session.exec(select(LedgerEntry)).all()] == [NOTE]

    assert_masked((await bot.send("/why NB02 2026-03", user_id=ADMIN)).text)
    in_group = await bot.send("/why 2026-03", user_id=LIAISON, chat_id=GROUP)
    assert int(in_group.params["chat_id"]) == GROUP
    assert_masked(in_group.text)
    score = await bot.send("/score", user_id=LIAISON)
    why = next(data for label, data in score.buttons if data.startswith("why:"))
    assert_masked((await bot.press(why, user_id=LIAISON)).text)


async def test_unanswered_is_masked_and_the_log_keeps_the_question(bot: Bot) -> None:
    await bot.send(QUESTION, user_id=LIAISON)
    text = (await bot.send("/unanswered", user_id=ADMIN)).text
    assert QUESTION.replace(PHONE, PHONE_MASK) in text
    assert_masked(text)
    with bot.services.session() as session:
        assert QUESTION in [q.question for q in session.exec(select(QuestionLog)).all()]


# ---------------------------------------------------------------- exports


def test_a_text_export_is_masked_on_the_way_out() -> None:
    export = Attachment("台账.csv", f"日期,说明\n2026-03-02,{NOTE}\n".encode())
    sealed = seal(Reply("导出完成", attachments=(export,)))
    [masked] = sealed.attachments
    assert (
        masked.data.decode()
        == f"日期,说明\n2026-03-02,联系人 {PHONE_MASK}，身份证 [证件号已隐去]\n"
    )


def test_an_export_the_boundary_cannot_read_is_refused() -> None:
    # A binary export would leave unmasked: the boundary refuses it rather than let it pass.
    with pytest.raises(ValueError, match="only text exports"):
        seal(Reply("导出完成", attachments=(Attachment("台账.xlsx", b"PK\x03\x04"),)))
