"""The console front door: the shared conversation in a terminal, buttons as numbered choices.

It offers what the Telegram bot offers to the same role (`kpibot chat --as admin`,
`--as staff:NB01`, `--as 12345678` for a bound Telegram user), admitted through the same
permission check and command table, so the two front doors cannot drift apart.
"""

from __future__ import annotations

import secrets
import shlex
from collections.abc import Callable
from pathlib import Path

from bot.access import OTHER_UNIT, Audience, Caller, admit, unit_in_view
from bot.conversation import Button, Conversation, Reply
from bot.membership import Membership
from bot.render import html_to_plain
from bot.scoreboard import Scoreboard
from bot.telegram.commands import BUTTONS, BY_NAME, usage, visible_to
from bot.uploads import Uploads
from db.users_store import Role

WELCOME = (
    "您好！这里是绩效考评助手（控制台）。请直接输入您的问题，例如“非接触式办税怎么考核”。\n"
    "输入序号选择选项，输入 /help 查看帮助，输入 /quit 退出。"
)
CONSOLE_ONLY = "\n/import 文件路径 [说明]　导入细则、单位、台账或评议文件（绩效办）\n/quit　退出"


def resolve_caller(
    text: str | None, membership: Membership, *, unit_exists: Callable[[str], bool]
) -> Caller:
    """The caller ``--as`` names: a role (admin, staff:UNIT, liaison:UNIT) or a Telegram user id."""
    if not text:
        return Caller(None)
    role_text, _, unit = text.strip().partition(":")
    if role_text.isdigit():
        caller = membership.caller(int(role_text))
        if caller.role is None:
            raise ValueError(f"用户 {role_text} 尚未绑定身份。")
        return caller
    try:
        role = Role(role_text.lower())
    except ValueError:
        raise ValueError(
            "--as 应为 admin、staff:单位编码、liaison:单位编码 或已绑定用户的 ID。"
        ) from None
    if role is Role.ADMIN:
        return Caller(None, role, unit or None)
    if not unit:
        raise ValueError(f"{role.label}需要指定单位，例如 --as {role.value}:NB01")
    if not unit_exists(unit):
        raise ValueError(f"未知单位“{unit}”。")
    return Caller(None, role, unit)


class ConsoleChat:
    """A read-eval-print loop over the shared conversation logic, as one caller."""

    def __init__(
        self,
        conversation: Conversation,
        *,
        scoreboard: Scoreboard | None = None,
        membership: Membership | None = None,
        uploads: Uploads | None = None,
        caller: Caller | None = None,
        read: Callable[[str], str] = input,
        write: Callable[[str], None] = print,
    ) -> None:
        self.conversation = conversation
        self.scoreboard = scoreboard
        self.membership = membership
        self.uploads = uploads
        self.caller = caller or Caller(None)
        self.read = read
        self.write = write
        self.choices: tuple[Button, ...] = ()
        self.pending_adds: dict[str, tuple[str, str, str, str]] = {}

    @property
    def who(self) -> str:
        """Who entered a change, for the ledger's audit trail."""
        if self.caller.user_id is not None:
            return f"tg:{self.caller.user_id}"
        return f"console:{self.caller.role.value if self.caller.role else 'anonymous'}"

    def show(self, reply: Reply) -> None:
        """Print a reply and remember its buttons as numbered choices."""
        self.write(html_to_plain(reply.html))
        self.choices = reply.buttons
        for number, button in enumerate(reply.buttons, start=1):
            self.write(f"  [{number}] {button.label}")

    def say(self, text: str) -> None:
        """Print a plain line and forget the previous choices."""
        self.choices = ()
        self.write(text)

    def help_text(self) -> str:
        """The commands this caller may use, from the shared command table."""
        lines = ["可以直接提问，或使用以下命令："]
        lines += [
            f"/{c.name}　{c.description}（{c.usage}）"
            for c in visible_to(self.caller)
            if c.name != "start"  # binding is for Telegram; here --as says who you are
        ]
        return "\n".join(lines) + (CONSOLE_ONLY if self.caller.is_admin else "\n/quit　退出")

    def handle(self, line: str) -> bool:
        """Handle one line; False when the user wants to leave."""
        text = line.strip()
        if not text:
            return True
        if text in ("/quit", "/exit", "退出", "q"):
            return False
        if text.isdigit() and self.choices:
            index = int(text) - 1
            if 0 <= index < len(self.choices):
                self.press(self.choices[index].data)
            else:
                self.write(f"请输入 1 到 {len(self.choices)} 之间的序号。")
            return True
        if text.startswith("/"):
            self.command(text)
            return True
        self.show(self.conversation.ask(text))
        return True

    def command(self, text: str) -> None:
        """Run one slash command with the caller's permissions."""
        try:
            name, *args = shlex.split(text[1:])
        except ValueError:
            name, *args = text[1:].split()
        name = name.split("@")[0].lower()
        if name == "help":
            self.say(self.help_text())
            return
        if name == "import":
            self.import_file(args)
            return
        spec = BY_NAME.get(name)
        if spec is None or name == "start":
            self.say("没有这个命令。输入 /help 查看可用命令。")
            return
        refusal = admit(self.caller, spec.audience, name)
        if refusal is not None:
            self.say(refusal)
            return
        handler = getattr(self, f"do_{name}")
        handler(args)

    # ------------------------------------------------------------ commands

    def do_ask(self, args: list[str]) -> None:
        """/ask QUESTION."""
        if not args:
            self.say(usage("ask"))
            return
        self.show(self.conversation.ask(" ".join(args)))

    def do_indicator(self, args: list[str]) -> None:
        """/indicator CODE."""
        if not args:
            self.say(usage("indicator"))
            return
        self.show(self.conversation.card(args[0]))

    def _scoreboard(self) -> Scoreboard:
        assert self.scoreboard is not None, "scores need a scoreboard"
        return self.scoreboard

    def _score(self, args: list[str], *, full: bool) -> None:
        unit, period = self._scoreboard().unit_and_period(self.caller, args)
        if unit is None:
            hint = "管理员请写明单位，" if self.caller.is_admin else ""
            self.say(hint + usage("why" if full else "score"))
            return
        self.show(self._scoreboard().score(unit, period, full=full))

    def do_score(self, args: list[str]) -> None:
        """/score [UNIT] [PERIOD]."""
        self._score(args, full=False)

    def do_why(self, args: list[str]) -> None:
        """/why [UNIT] [PERIOD]."""
        self._score(args, full=True)

    def do_rank(self, args: list[str]) -> None:
        """/rank [PERIOD]."""
        period = " ".join(args) or None
        self.show(self._scoreboard().rank(self.caller.unit_code, None, period))

    def do_add(self, args: list[str]) -> None:
        """/add UNIT INDICATOR POINTS NOTE, confirmed before it is written."""
        if len(args) < 4:
            self.say(usage("add"))
            return
        token = secrets.token_hex(4)
        unit, indicator, points, note = args[0], args[1], args[2], " ".join(args[3:])
        reply = self._scoreboard().confirm_add(
            unit=unit, indicator=indicator, points=points, note=note, token=token
        )
        if reply.buttons:  # no buttons: the points were refused, nothing waits for a confirm
            self.pending_adds[token] = (unit, indicator, points, note)
        self.show(reply)

    def do_reverse(self, args: list[str]) -> None:
        """/reverse ENTRY REASON."""
        if len(args) < 2 or not args[0].isdigit():
            self.say(usage("reverse"))
            return
        self.show(
            self._scoreboard().reverse(
                entry_id=int(args[0]), note=" ".join(args[1:]), entered_by=self.who
            )
        )

    def do_invite(self, args: list[str]) -> None:
        """/invite ROLE [UNIT]."""
        if not args or len(args) > 2 or self.membership is None:
            self.say(usage("invite"))
            return
        self.show(
            self.membership.invite(
                role_text=args[0], unit=args[1] if len(args) > 1 else None, created_by=self.who
            )
        )

    def do_unanswered(self, args: list[str]) -> None:
        """/unanswered: the latest questions the bot could not answer."""
        self.show(self.conversation.recent_unanswered())

    def import_file(self, args: list[str]) -> None:
        """/import PATH [CAPTION]: the console's way of sending a file."""
        refusal = admit(self.caller, Audience.ADMIN, "import")
        if refusal is not None:
            self.say(refusal)
            return
        if not args or self.uploads is None:
            self.say("用法：/import 文件路径 [说明]，例如 /import 三月台账.csv 台账")
            return
        path = Path(args[0]).expanduser()
        if not path.is_file():
            self.say(f"找不到文件：{path}")
            return
        self.show(
            self.uploads.import_file(
                path.name, path.read_bytes(), caption=" ".join(args[1:]), by=self.who
            )
        )

    # ------------------------------------------------------------ buttons

    def press(self, data: str) -> None:
        """Follow a numbered choice (an inline button elsewhere)."""
        kind, _, rest = data.partition(":")
        refusal = admit(self.caller, BUTTONS.get(kind, Audience.ADMIN), f"button {kind}")
        if refusal is not None:
            self.say(refusal)
            return
        if kind == "why":
            unit, _, period = rest.partition(":")
            if unit_in_view(self.caller, unit) is None:
                self.say(OTHER_UNIT.format(unit=self.caller.unit_code))
                return
            self.show(self._scoreboard().score(unit, period, full=True))
        elif kind == "add":
            decision, _, token = rest.partition(":")
            entry = self.pending_adds.pop(token, None)
            if entry is None:
                self.say("该录入请求已处理或已过期。")
            elif decision != "ok":
                self.say("已取消，未录入任何数据。")
            else:
                unit, indicator, points, note = entry
                self.show(
                    self._scoreboard().add(
                        unit=unit,
                        indicator=indicator,
                        points=points,
                        note=note,
                        entered_by=self.who,
                    )
                )
        else:
            self.show(self.conversation.press(data))

    def run(self) -> None:
        """Loop until /quit or end of input."""
        self.write(WELCOME)
        if self.caller.role is not None:
            unit = f"（{self.caller.unit_code}）" if self.caller.unit_code else ""
            self.write(f"当前身份：{Role(self.caller.role).label}{unit}")
        while True:
            try:
                line = self.read("\n您的问题> ")
            except (EOFError, KeyboardInterrupt):
                self.write("")
                return
            if not self.handle(line):
                self.write("再见！")
                return
