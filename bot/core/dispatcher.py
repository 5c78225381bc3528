"""The one dispatcher: a caller and a message in, a sealed reply out, for every door.

A door turns its transport's input into a :data:`Message` (free text, a command with its
arguments, a button press, a file) and calls :meth:`Dispatcher.handle` with the caller's
``(channel, external_id)``. The dispatcher finds who the caller is, admits them through the
command or button table, runs the handler, renders what the user got wrong as one Chinese
sentence, keeps the conversation state (choices offered, pending step) in the database, and
seals the reply at the outgoing boundary. Blocking (database, matcher): async doors call it
in a worker thread.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace

from bot.core import handlers
from bot.core.access import Audience, Caller, admit
from bot.core.boundary import seal
from bot.core.commands import BUTTON_BY_PREFIX, BY_NAME, Command
from bot.core.errors import StaleButtonError, UserError
from bot.core.reply import Reply, Show
from bot.core.turn import Turn
from bot.services import Services
from knowledge.files import MAX_INPUT_BYTES

logger = logging.getLogger(__name__)

# One limit for every door and every file (the Bot API itself would allow 20 MB).
MAX_UPLOAD_BYTES = MAX_INPUT_BYTES
UNKNOWN_COMMAND = "没有这个命令。发送 /help 查看可用命令。"
NOT_TEXT = "抱歉，我只能看懂文字消息。请用文字描述您的问题。"
TOO_FAST = "您发送得太快了，请稍等片刻再试。"


@dataclass(frozen=True)
class Text:
    """Free text: a question, a number picking an offered choice, or a pending step's input."""

    text: str


@dataclass(frozen=True)
class CommandCall:
    """A command with its arguments (``/score GS06 上季度`` → ``score``, ``("GS06", "上季度")``)."""

    name: str
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Press:
    """A button pressed: its payload, as the door got it back (never trusted)."""

    data: str


@dataclass(frozen=True)
class Upload:
    """A file sent to the bot."""

    name: str
    data: bytes
    caption: str | None = None


@dataclass(frozen=True)
class Unsupported:
    """Anything a door cannot read (a sticker, a photo)."""


Message = Text | CommandCall | Press | Upload | Unsupported


def new_error_id() -> str:
    """An id that ties a reply about a failure to its log line: eight hex digits, never all
    decimal ones, which the masking boundary would take for a phone number and hide."""
    while (error_id := uuid.uuid4().hex[:8]).isdigit():
        pass
    return error_id


def internal_error(error_id: str, error: BaseException | None = None) -> Reply:
    """What a door says when the core failed unexpectedly (details are in the log): the fault
    of the database or disk when that is what failed, else a generic apology."""
    from bot.core.faults import fault_sentence

    fault = fault_sentence(error) if error is not None else None
    if fault is not None:
        return seal(Reply(f"{fault}（错误编号 {error_id}）"))
    return seal(Reply(f"抱歉，处理您的请求时出错了（错误编号 {error_id}），已记录，请稍后再试。"))


class Dispatcher:
    """Routes every message of every door through the command and button tables."""

    def __init__(self, services: Services) -> None:
        self.services = services

    # ------------------------------------------------------------ identity

    def caller(self, channel: str, external_id: str) -> Caller:
        """Who ``(channel, external_id)`` is (role and unit when bound)."""
        return self.services.membership.caller(channel, external_id)

    def commands_for(self, caller: Caller) -> list[Command]:
        """The commands a caller may use, in table order (for ``/help`` and menus)."""
        from bot.core.commands import visible_to

        return visible_to(caller)

    def refuse_upload(self, channel: str, external_id: str, name: str, size: int) -> Reply | None:
        """The refusal of a file before it is fetched (not the office, too large), or None."""
        refusal = admit(self.caller(channel, external_id), Audience.ADMIN, "upload")
        if refusal is not None:
            return seal(Reply(refusal))
        if size > MAX_UPLOAD_BYTES:
            limit = MAX_UPLOAD_BYTES // 2**20
            return seal(self._problem(UserError(f"{name}：文件过大（上限 {limit} MB），未导入。")))
        return None

    # ------------------------------------------------------------ the turn

    def handle(self, channel: str, external_id: str, message: Message) -> Reply:
        """The reply to one message, sealed for sending."""
        turn = self._load(channel, external_id)
        before = (turn.choices, turn.pending, turn.data)
        try:
            reply = self._route(turn, message)
        except UserError as exc:
            reply = self._problem(exc)
            if isinstance(message, Press):
                reply = replace(reply, show=Show.POPUP)
        if reply.show is not Show.POPUP:
            turn.choices = tuple(button.data for button in reply.buttons)
        if (turn.choices, turn.pending, turn.data) != before:
            self._save(turn)
        return seal(reply)

    def _route(self, turn: Turn, message: Message) -> Reply:
        if isinstance(message, CommandCall):
            return self._command(turn, message)
        if isinstance(message, Press):
            return self._press(turn, message.data)
        if isinstance(message, Upload):
            return self._upload(turn, message)
        if isinstance(message, Unsupported):
            return Reply(NOT_TEXT)
        text = message.text.strip()
        if turn.choices and text.isdigit() and len(text) <= 2:  # 12366 is a question
            if not 1 <= int(text) <= len(turn.choices):
                raise UserError(f"请输入 1 到 {len(turn.choices)} 之间的序号。")
            return self._press(turn, turn.choices[int(text) - 1])
        if turn.pending == handlers.MEASURES:
            return handlers.measures(turn, message.text)
        return handlers.question(turn, message.text)

    def _command(self, turn: Turn, call: CommandCall) -> Reply:
        command = BY_NAME.get(call.name.lower())
        if command is None:
            raise UserError(UNKNOWN_COMMAND)
        refusal = admit(turn.caller, command.audience, command.name)
        if refusal is not None:
            return Reply(refusal)
        if len(call.args) < command.min_args or (
            command.max_args is not None and len(call.args) > command.max_args
        ):
            raise UserError(command.usage_line)
        return command.run(turn, call.args)

    def _press(self, turn: Turn, data: str) -> Reply:
        kind = BUTTON_BY_PREFIX.get(data.partition(":")[0])
        if kind is None:
            logger.info("refused button payload %r from %s", data[:80], turn.caller.who)
            raise StaleButtonError()
        refusal = admit(turn.caller, kind.audience, f"button {kind.prefix}")
        if refusal is not None:
            raise UserError(refusal)
        match = kind.pattern.fullmatch(data)
        if match is None:  # forged or from an older release: refused before anything runs
            logger.info("refused button payload %r from %s", data[:80], turn.caller.who)
            raise StaleButtonError()
        return kind.run(turn, match)

    def _upload(self, turn: Turn, upload: Upload) -> Reply:
        refusal = admit(turn.caller, Audience.ADMIN, "upload")
        if refusal is not None:
            return Reply(refusal)
        return self.services.uploads.import_file(
            upload.name, upload.data, caption=upload.caption, by=turn.caller.who
        )

    def _problem(self, exc: UserError) -> Reply:
        return Reply(
            self.services.renderer.html(
                "problem.html.j2", message=exc.message, problems=list(exc.problems)
            )
        )

    # ------------------------------------------------------------ state

    def _load(self, channel: str, external_id: str) -> Turn:
        from bot.membership import caller_of
        from db import conversation_store, users_store

        with self.services.session() as session:
            user = users_store.find_user(session=session, channel=channel, external_id=external_id)
            caller = caller_of(channel, external_id, user)
            state = conversation_store.load_state(
                session=session, channel=channel, external_id=external_id
            )
        return Turn(self.services, caller, state.choices, state.pending, state.data)

    def _save(self, turn: Turn) -> None:
        from sqlalchemy.exc import IntegrityError

        from db import conversation_store

        for attempt in (1, 2):  # two first messages of one user at once: the second updates
            try:
                with self.services.session() as session:
                    conversation_store.save_state(
                        session=session,
                        channel=turn.caller.channel,
                        external_id=turn.caller.external_id,
                        choices=turn.choices,
                        pending=turn.pending,
                        data=turn.data,
                        now=self.services.now(),
                    )
                return
            except IntegrityError:
                if attempt == 2:
                    raise
