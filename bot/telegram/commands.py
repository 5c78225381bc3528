"""The command table: what each command is, who it is for, and how to call it.

The handlers, ``/help`` and the Telegram command menu (``set_my_commands``) are all built
from :data:`COMMANDS`, so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import BotCommand

from bot.access import Audience, Caller, may


@dataclass(frozen=True)
class CommandSpec:
    """One bot command."""

    name: str
    description: str
    usage: str
    audience: Audience


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("start", "开始使用；凭邀请码绑定身份", "/start 邀请码", Audience.ANYONE),
    CommandSpec("help", "查看帮助", "/help", Audience.ANYONE),
    CommandSpec("ask", "询问指标含义、计分方法", "/ask 问题", Audience.ANYONE),
    CommandSpec(
        "indicator", "按编码查看指标", "/indicator 指标编码，如 /indicator DL-01", Audience.ANYONE
    ),
    CommandSpec(
        "score", "本单位积分、明细和名次", "/score [期间]，如 /score 2026-03", Audience.MEMBER
    ),
    CommandSpec("why", "本单位积分的全部明细", "/why [期间]", Audience.MEMBER),
    CommandSpec("rank", "本分组排名", "/rank [期间]，如 /rank 上季度", Audience.MEMBER),
    CommandSpec(
        "add",
        "录入一条台账记录",
        "/add 单位 指标 分值 说明，如 /add NB01 JF-01 2 通报表扬",
        Audience.ADMIN,
    ),
    CommandSpec("reverse", "冲正一条台账记录", "/reverse 记录编号 原因", Audience.ADMIN),
    CommandSpec(
        "invite", "生成一次性邀请码", "/invite staff|liaison|admin [单位编码]", Audience.ADMIN
    ),
    CommandSpec("unanswered", "最近未能回答的问题", "/unanswered", Audience.ADMIN),
    CommandSpec(
        "notices",
        "整改通报汇总（送达、已阅、整改措施）",
        "/notices [月份]，如 /notices 2026-10",
        Audience.ADMIN,
    ),
)
BY_NAME = {spec.name: spec for spec in COMMANDS}

# Callback-data prefixes of inline buttons, and who may press them.
BUTTONS: dict[str, Audience] = {
    "ind": Audience.ANYONE,
    "lvl": Audience.ANYONE,
    "fb": Audience.ANYONE,
    "why": Audience.MEMBER,
    "add": Audience.ADMIN,
    "nt": Audience.MEMBER,  # 已阅 / 报送整改措施; the notice's own unit is checked on press
}


def visible_to(caller: Caller) -> list[CommandSpec]:
    """The commands a caller may use, in table order."""
    return [spec for spec in COMMANDS if may(caller, spec.audience)]


def menu_for(caller: Caller) -> list[BotCommand]:
    """The Telegram command menu for a caller."""
    return [BotCommand(spec.name, spec.description) for spec in visible_to(caller)]


def usage(name: str) -> str:
    """The usage line of a command."""
    return "用法：" + BY_NAME[name].usage
