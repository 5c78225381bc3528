"""The console door: the core's conversation in a terminal, buttons as numbered choices.

It offers what every door offers to the same role (``kpibot chat --as admin``,
``--as staff:PC01``, ``--as liaison:PC01``, ``--as telegram:12345678`` for a bound Telegram
user): each line goes to the core's dispatcher, each reply is printed as plain text with its
buttons numbered; typing a number presses one (the core remembers what it offered). On a
terminal, lines can be edited and recalled (readline).
"""

from __future__ import annotations

import contextlib
import logging
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

from bot.core.dispatcher import (
    CommandCall,
    Dispatcher,
    Text,
    Upload,
    internal_error,
    new_error_id,
)
from bot.core.dispatcher import Message as CoreMessage
from bot.core.reply import Reply
from bot.services import Services
from db.users_store import Role
from knowledge.files import MAX_INPUT_BYTES

logger = logging.getLogger(__name__)

CHANNEL = "console"
WELCOME = (
    "您好！这里是绩效考评助手（控制台）。请直接输入您的问题，例如“非接触式办税怎么考核”。\n"
    "输入序号选择选项，输入 /help 查看帮助，/import 文件路径 导入文件，/quit 退出。"
)
QUIT = ("/quit", "/exit", "退出", "q")
AS_HELP = "--as 应为 admin、staff:单位编码、liaison:单位编码 或 telegram:已绑定用户的 ID。"
IMPORT_USAGE = "用法：/import 文件路径 [说明]，例如 /import 三月台账.csv 台账"
HISTORY = Path.home() / ".kpibot_history"


def resolve_identity(services: Services, text: str | None) -> tuple[str, str]:
    """The ``(channel, external_id)`` that ``--as`` names; a role is bound to a console user
    (so that, for instance, a liaison's 已阅 is recorded like any other)."""
    from db import scoring_store, users_store

    if not text:
        return CHANNEL, "anonymous"
    text = text.strip()
    channel, _, rest = text.partition(":")
    if text.isdigit() or (channel == "telegram" and rest.isdigit()):
        number = text if text.isdigit() else rest
        if services.membership.caller("telegram", number).role is None:
            raise ValueError(f"用户 {number} 尚未绑定身份。")
        return "telegram", number
    try:
        role = Role(channel.lower())
    except ValueError:
        raise ValueError(AS_HELP) from None
    unit = rest.strip().upper() or None
    if role is not Role.ADMIN and unit is None:
        raise ValueError(f"{role.label}需要指定单位，例如 --as {role.value}:PC01")
    with services.session() as session:
        if unit is not None and scoring_store.get_unit(session=session, code=unit) is None:
            raise ValueError(f"未知单位“{rest.strip()}”。")
        external_id = role.value if role is Role.ADMIN else f"{role.value}:{unit}"
        users_store.bind_user(
            session=session, channel=CHANNEL, external_id=external_id, role=role, unit_code=unit
        )
    return CHANNEL, external_id


def _read_capped(path: Path) -> bytes:
    """At most one byte more than an upload may have: enough to refuse a huge file unread."""
    with path.open("rb") as file:
        return file.read(MAX_INPUT_BYTES + 1)


def parse_line(line: str) -> CoreMessage | None:
    """A typed line as a core message (None for an empty line); ``/import`` reads a file."""
    text = line.strip()
    if not text:
        return None
    if not text.startswith("/"):
        return Text(text)
    try:
        words = shlex.split(text[1:])
    except ValueError:
        words = text[1:].split()
    if not words:
        return Text(text)
    name, args = words[0].split("@")[0].lower(), tuple(words[1:])
    if name == "import":
        if not args:
            return Upload("", b"")
        path = Path(args[0]).expanduser()
        data = _read_capped(path) if path.is_file() else b""
        return Upload(path.name if path.is_file() else args[0], data, " ".join(args[1:]) or None)
    return CommandCall(name, args)


class ConsoleChat:
    """A read-eval-print loop over the core's dispatcher, as one caller."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        identity: tuple[str, str],
        *,
        read: Callable[[str], str] = input,
        write: Callable[[str], None] = print,
    ) -> None:
        self.dispatcher = dispatcher
        self.channel, self.external_id = identity
        self.read = read
        self.write = write

    def show(self, reply: Reply) -> None:
        """Print a reply with its buttons as numbered choices."""
        self.write(reply.plain)
        for number, button in enumerate(reply.buttons, start=1):
            self.write(f"  [{number}] {button.label}")

    def reply_to(self, message: CoreMessage) -> Reply:
        """The core's reply; an unexpected failure is logged and told, never a traceback."""
        try:
            return self.dispatcher.handle(self.channel, self.external_id, message)
        except Exception:
            error_id = new_error_id()
            logger.exception("error %s in the console", error_id)
            return internal_error(error_id)

    def handle(self, line: str) -> bool:
        """Handle one line; False when the user wants to leave."""
        if line.strip() in QUIT:
            return False
        message = parse_line(line)
        if isinstance(message, Upload) and not message.data:
            if message.name:
                self.write(f"找不到文件或文件为空：{message.name}")
            else:
                self.write(IMPORT_USAGE)
            return True
        if message is not None:
            self.show(self.reply_to(message))
        return True

    def run(self) -> None:
        """Loop until /quit or end of input."""
        with_history = _line_editing()
        self.write(WELCOME)
        caller = self.dispatcher.caller(self.channel, self.external_id)
        if caller.role is not None:
            unit = f"（{caller.unit_code}）" if caller.unit_code else ""
            self.write(f"当前身份：{caller.role.label}{unit}")
        try:
            while True:
                try:
                    line = self.read("\n您的问题> ")
                except (EOFError, KeyboardInterrupt):
                    self.write("")
                    return
                if not self.handle(line):
                    self.write("再见！")
                    return
        finally:
            if with_history:
                _save_history()


def _line_editing() -> bool:
    """Line editing and history on a terminal (stdlib readline); False on a pipe."""
    if not sys.stdin.isatty():
        return False
    try:
        import readline
    except ImportError:  # pragma: no cover - Windows without pyreadline
        return False
    with contextlib.suppress(OSError):
        readline.read_history_file(HISTORY)
    readline.set_history_length(1000)
    return True


def _save_history() -> None:
    import readline

    try:
        readline.write_history_file(HISTORY)
    except OSError:
        logger.debug("could not write the console history", exc_info=True)
