"""Every command of the core's table, for every role, through the Telegram door (the real
``Application``, offline) and through the console door: the same text and the same buttons.

This is what "one core, thin doors" means in practice: a door that rendered a command
differently, offered other buttons or refused differently would fail here.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from bot.console import ConsoleChat, resolve_identity
from bot.core.commands import COMMANDS
from bot.core.reply import html_to_plain
from bot.services import Services
from bot.telegram.door import SERVICES
from db import users_store
from db.users_store import Role
from tests.telegram_helpers import RecordingRequest, Users, make_application

# Arguments each command is tried with: a valid call from the sample data and, for commands
# that take arguments, a call that is wrong (too few arguments, or a value that is refused).
CALLS: dict[str, tuple[str, ...]] = {
    "start": ("/start", "/start NOSUCHCODE"),
    "help": ("/help",),
    "ask": ("/ask 税收收入完成率怎么算", "/ask 12366", "/ask"),
    "indicator": ("/indicator DL-01", "/indicator NOPE-99", "/indicator"),
    "score": ("/score", "/score NB01 2026-03", "/score 明年春天"),
    "why": ("/why", "/why NB01"),
    "rank": ("/rank", "/rank 上季度", "/rank 2026-Q1"),
    "notice": ("/notice", "/notice 2026-02"),
    "add": ("/add NB01 JF-01 2 市局通报表扬", "/add NOSUCH JF-01 abc 说明", "/add NB01"),
    "reverse": ("/reverse 999 录错", "/reverse x y", "/reverse"),
    "invite": ("/invite liaison NB01", "/invite boss", "/invite"),
    "unanswered": ("/unanswered",),
    # Learning commands change what the matcher knows, so a second door would read "已有":
    # the calls that succeed only read, the others are refused the same way by both doors.
    "attach": ("/attach G99 DL-01", "/attach 1 NOPE-99", "/attach"),
    "questions": ("/questions",),
    "synonym": ("/synonym -从未登记的词", "/synonym 排队", "/synonym"),
    "synonyms": ("/synonyms",),
    "notices": ("/notices", "/notices 2026-02", "/notices 2026-Q1"),
}
ROLES: dict[str, tuple[Role | None, str | None]] = {
    "anyone": (None, None),
    "staff": (Role.STAFF, "NB01"),
    "liaison": (Role.LIAISON, "NB02"),
    "admin": (Role.ADMIN, None),
}
INVITE_CODE = re.compile(r"/start [A-Za-z0-9_-]{16}")
TELEGRAM_USER = 7100


@dataclass
class Doors:
    app: object
    request: RecordingRequest
    users: Users
    services: Services


@pytest.fixture
async def doors(database_url: str) -> AsyncIterator[Doors]:
    request = RecordingRequest()
    app = make_application(database_url, request)
    async with app:
        services = app.bot_data[SERVICES]
        assert isinstance(services, Services)
        yield Doors(app, request, Users(app.bot), services)
    services.close()


def comparable(text: str) -> str:
    """The text with what is random by design (an invite code) blanked."""
    return INVITE_CODE.sub("/start CODE", text)


def test_the_table_is_fully_exercised() -> None:
    assert set(CALLS) == {command.name for command in COMMANDS}


@pytest.mark.parametrize("role_name", list(ROLES))
async def test_every_command_reads_the_same_in_telegram_and_the_console(
    doors: Doors, role_name: str
) -> None:
    role, unit = ROLES[role_name]
    console_as = None if role is None else (role.value + (f":{unit}" if unit else ""))
    if role is not None:
        with doors.services.session() as session:
            users_store.bind_user(
                session=session, telegram_id=TELEGRAM_USER, role=role, unit_code=unit
            )
    printed: list[str] = []
    console = ConsoleChat(
        doors.services.dispatcher,
        resolve_identity(doors.services, console_as),
        write=printed.append,
    )
    checked = 0
    for command in COMMANDS:
        for line in CALLS[command.name]:
            await doors.app.process_update(  # type: ignore[attr-defined]
                doors.users.message(line, user_id=TELEGRAM_USER)
            )
            (sent,) = doors.request.take()
            assert sent.method == "sendMessage", line
            printed.clear()
            console.handle(line)
            telegram_lines = [html_to_plain(sent.text)] + [
                f"  [{number}] {label}" for number, (label, _) in enumerate(sent.buttons, start=1)
            ]
            assert comparable("\n".join(printed)) == comparable("\n".join(telegram_lines)), line
            checked += 1
    assert checked == sum(len(calls) for calls in CALLS.values())
