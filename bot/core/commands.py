"""The one command table and the one button table of the core.

Each command is declared once: its name, who it is for, its arguments, its Chinese help and
usage, and the function doing the work. ``/help``, the Telegram command menu, the console
and the WeCom door all read this table. To add a command, write a handler
``def name(turn: Turn, args: tuple[str, ...]) -> Reply`` (in :mod:`bot.core.handlers`) and
add one :class:`Command` line here; every door offers it at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.core import handlers as h
from bot.core import review as r
from bot.core.access import Audience, Caller, may
from bot.core.reply import Reply
from bot.core.turn import Turn

CommandHandler = Callable[[Turn, tuple[str, ...]], Reply]
ButtonHandler = Callable[[Turn, "re.Match[str]"], Reply]


@dataclass(frozen=True)
class Command:
    """One command, as every door offers it."""

    name: str
    audience: Audience
    description: str  # one line of Chinese help
    usage: str  # how to call it, with an example from the sample data
    run: CommandHandler
    min_args: int = 0
    max_args: int | None = None

    @property
    def usage_line(self) -> str:
        """The usage sentence a wrong call gets."""
        return "用法：" + self.usage


@dataclass(frozen=True)
class ButtonKind:
    """One kind of button: the shape of its payload (checked before anything runs), who may
    press it, and the function doing the work."""

    prefix: str
    pattern: re.Pattern[str]
    audience: Audience
    run: ButtonHandler


_CODE = r"([A-Za-z0-9_.\-]{1,32})"
_ASKED = r"(?::([0-9]{1,12}))?"

COMMANDS: tuple[Command, ...] = (
    Command("start", Audience.ANYONE, "开始使用；凭邀请码绑定身份", "/start 邀请码", h.start, 0, 1),
    Command("help", Audience.ANYONE, "查看帮助", "/help", h.help_, 0, None),
    Command("ask", Audience.ANYONE, "询问指标含义、计分方法", "/ask 问题", h.ask, 1),
    Command(
        "indicator",
        Audience.ANYONE,
        "按编码查看指标",
        "/indicator 指标编码，如 /indicator DL-01",
        h.indicator,
        1,
        1,
    ),
    Command(
        "score",
        Audience.MEMBER,
        "本单位积分、明细和名次",
        "/score [期间]，如 /score 2026-03；绩效办写明单位，如 /score GS06 上季度",
        h.score,
    ),
    Command(
        "why",
        Audience.MEMBER,
        "本单位积分的全部明细",
        "/why [期间]；绩效办写明单位，如 /why PC01 2026-03",
        h.why,
    ),
    Command("rank", Audience.MEMBER, "本分组排名", "/rank [期间]，如 /rank 上季度", h.rank),
    Command(
        "notice",
        Audience.MEMBER,
        "本单位的整改通报（已阅、报送整改措施）",
        "/notice [月份]，如 /notice 2026-10",
        h.notice,
    ),
    Command(
        "add",
        Audience.ADMIN,
        "录入一条台账记录（确认后写入）",
        "/add 单位 指标 分值 说明，如 /add PC01 JF-01 2 市局通报表扬",
        h.add,
        4,
    ),
    Command("reverse", Audience.ADMIN, "冲正一条台账记录", "/reverse 记录编号 原因", h.reverse, 2),
    Command(
        "invite",
        Audience.ADMIN,
        "生成一次性邀请码",
        "/invite staff|liaison|admin [单位编码]，如 /invite liaison PC01",
        h.invite,
        1,
        2,
    ),
    Command(
        "unanswered",
        Audience.ADMIN,
        "未能回答的问题（相似的归组，可一键归入指标）",
        "/unanswered",
        r.unanswered,
    ),
    Command(
        "attach",
        Audience.ADMIN,
        "把未回答的问题归入指标，立即生效",
        "/attach 组号或问题编号 指标编码，如 /attach G12 DL-06",
        r.attach,
        2,
        2,
    ),
    Command(
        "questions",
        Audience.ADMIN,
        "问答情况：各指标提问、回答、澄清、点赞点踩",
        "/questions",
        r.questions,
    ),
    Command(
        "synonym",
        Audience.ADMIN,
        "添加或删除同义词（日常用语 → 规范用语），立即生效",
        "/synonym 日常用语 规范用语，如 /synonym 排队 等候时长；删除：/synonym -排队",
        r.synonym,
        1,
        2,
    ),
    Command("synonyms", Audience.ADMIN, "查看同义词表", "/synonyms", r.synonyms),
    Command(
        "notices",
        Audience.ADMIN,
        "整改通报汇总（送达、已阅、整改措施）",
        "/notices [月份]，如 /notices 2026-10",
        h.notices,
    ),
)
BY_NAME = {command.name: command for command in COMMANDS}

BUTTONS: tuple[ButtonKind, ...] = (
    # ind, lvl and fb may end with the logged question's id: a pick or a vote learns from it
    ButtonKind("ind", re.compile(rf"ind:{_CODE}{_ASKED}"), Audience.ANYONE, r.press_indicator),
    ButtonKind(
        "lvl",
        re.compile(rf"lvl:{_CODE}:(绩效办|股室|派出机构){_ASKED}"),
        Audience.ANYONE,
        r.press_level,
    ),
    ButtonKind("fb", re.compile(rf"fb:([01]):{_CODE}{_ASKED}"), Audience.ANYONE, r.press_feedback),
    ButtonKind("att", re.compile(rf"att:(G[0-9]{{1,12}}):{_CODE}"), Audience.ADMIN, r.press_attach),
    ButtonKind(
        "why",
        re.compile(rf"why:{_CODE}:([0-9]{{4}}(?:-[0-9QH]{{2}})?)"),
        Audience.MEMBER,
        h.press_why,
    ),
    ButtonKind("add", re.compile(r"add:(ok|no):([0-9a-f]{8})"), Audience.ADMIN, h.press_add),
    ButtonKind("nt", re.compile(r"nt:(ack|m):([0-9]{1,12})"), Audience.MEMBER, h.press_notice),
)
BUTTON_BY_PREFIX = {kind.prefix: kind for kind in BUTTONS}


def visible_to(caller: Caller) -> list[Command]:
    """The commands a caller may use, in table order."""
    return [command for command in COMMANDS if may(caller, command.audience)]
