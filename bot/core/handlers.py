"""What each command and button does: parse the arguments, call a use case, return a reply.

No door-specific code here: a handler gets a :class:`~bot.core.turn.Turn` and returns a
:class:`~bot.core.reply.Reply`; what the user got wrong it raises as a
:class:`~bot.core.errors.UserError`. Registered in :mod:`bot.core.commands`.
"""

from __future__ import annotations

import re
import secrets

from bot.core.access import OTHER_UNIT, unit_in_view
from bot.core.errors import UserError
from bot.core.reply import Reply, Show
from bot.core.turn import Turn

ADD, MEASURES = "add", "measures"


def _usage(name: str) -> str:
    from bot.core.commands import BY_NAME

    return BY_NAME[name].usage_line


# ---------------------------------------------------------------- everyone


def start(turn: Turn, args: tuple[str, ...]) -> Reply:
    """Bind with an invite code (/start CODE), or greet."""
    if args:
        return turn.services.membership.bind(turn.caller, args[0])
    return Reply(turn.services.renderer.html("welcome.html.j2", caller=turn.caller))


def help_(turn: Turn, args: tuple[str, ...]) -> Reply:
    """The commands this caller may use."""
    from bot.core.commands import visible_to

    return Reply(
        turn.services.renderer.html(
            "help.html.j2", commands=visible_to(turn.caller), uploads=turn.caller.is_admin
        )
    )


def ask(turn: Turn, args: tuple[str, ...]) -> Reply:
    """Answer a question."""
    return question(turn, " ".join(args))


def question(turn: Turn, text: str) -> Reply:
    """Answer free text: a card, candidates or the none message."""
    if not text.strip():
        raise UserError("请直接输入您的问题，例如“非接触式办税怎么考核”。")
    return turn.services.conversation.ask(
        text, channel=turn.caller.channel, asked_by=turn.caller.who
    )


def indicator(turn: Turn, args: tuple[str, ...]) -> Reply:
    """An indicator card by code."""
    return turn.services.conversation.card(args[0])


# ---------------------------------------------------------------- members


def _score(turn: Turn, args: tuple[str, ...], *, full: bool) -> Reply:
    board = turn.services.scoreboard
    unit, period = board.unit_and_period(
        turn.caller, args, usage=_usage("why" if full else "score")
    )
    return board.score(unit, period, full=full)


def score(turn: Turn, args: tuple[str, ...]) -> Reply:
    """The unit's points, breakdown and rank."""
    return _score(turn, args, full=False)


def why(turn: Turn, args: tuple[str, ...]) -> Reply:
    """Every ledger entry behind the unit's points."""
    return _score(turn, args, full=True)


def rank(turn: Turn, args: tuple[str, ...]) -> Reply:
    """The group's ranking, the caller's unit highlighted."""
    return turn.services.scoreboard.rank(turn.caller.unit_code, " ".join(args) or None)


def notice(turn: Turn, args: tuple[str, ...]) -> Reply:
    """The caller's unit's notice of a month, with 已阅 and 报送整改措施."""
    from bot.core.notices import unit_notice

    if turn.caller.unit_code is None:
        raise UserError("绩效办请用 /notices 查看各单位整改通报的汇总。")
    return unit_notice(turn.services, turn.caller, " ".join(args) or None)


# ---------------------------------------------------------------- the office


def add(turn: Turn, args: tuple[str, ...]) -> Reply:
    """Check a ledger entry and ask to confirm it (nothing is written yet)."""
    unit, indicator_code, points = args[:3]
    note = " ".join(args[3:])
    board = turn.services.scoreboard
    entry = board.prepare(
        unit=unit, indicator=indicator_code, points=points, note=note, by=turn.caller.who
    )
    token = secrets.token_hex(4)
    turn.await_step(ADD, token=token, unit=unit, indicator=indicator_code, points=points, note=note)
    return board.confirm_add(entry, token=token)


def reverse(turn: Turn, args: tuple[str, ...]) -> Reply:
    """Reverse a ledger entry."""
    if not args[0].isdigit():
        raise UserError(_usage("reverse"))
    return turn.services.scoreboard.reverse(
        entry_id=int(args[0]), note=" ".join(args[1:]), by=turn.caller.who
    )


def invite(turn: Turn, args: tuple[str, ...]) -> Reply:
    """A one-time invite code."""
    return turn.services.membership.invite(
        role_text=args[0], unit=args[1] if len(args) > 1 else None, created_by=turn.caller.who
    )


def notices(turn: Turn, args: tuple[str, ...]) -> Reply:
    """The office's digest of a month's notices (the month just ended by default)."""
    from bot.core.notices import digest

    return digest(turn.services, " ".join(args) or None)


# ---------------------------------------------------------------- buttons


def press_why(turn: Turn, match: re.Match[str]) -> Reply:
    """Every entry behind a score, from the score's button."""
    unit, period = match[1], match[2]
    if unit_in_view(turn.caller, unit) is None:
        raise UserError(OTHER_UNIT.format(unit=turn.caller.unit_code))
    return _replacing(turn.services.scoreboard.score(unit, period, full=True))


def press_add(turn: Turn, match: re.Match[str]) -> Reply:
    """Confirm or cancel a pending /add; a token not pending is stale."""
    decision, token = match[1], match[2]
    pending = turn.data if turn.pending == ADD else {}
    if pending.get("token") != token:
        return Reply("该录入请求已处理或已过期。", show=Show.REPLACE)
    turn.take_step(ADD)
    if decision != "ok":
        return Reply("已取消，未录入任何数据。", show=Show.REPLACE)
    return _replacing(
        turn.services.scoreboard.add(
            unit=pending["unit"],
            indicator=pending["indicator"],
            points=pending["points"],
            note=pending["note"],
            by=turn.caller.who,
        )
    )


def press_notice(turn: Turn, match: re.Match[str]) -> Reply:
    """已阅, or 报送整改措施 (then the next text is the measures)."""
    from bot.core.notices import acknowledge, ask_for_measures

    notice_id = int(match[2])
    if match[1] == "ack":
        return acknowledge(turn.services, turn.caller, notice_id)
    reply = ask_for_measures(turn.services, turn.caller, notice_id)
    turn.await_step(MEASURES, notice_id=notice_id)
    return reply


def measures(turn: Turn, text: str) -> Reply:
    """The text typed after 报送整改措施: stored as the notice's measures."""
    from bot.core.notices import store_measures

    step = turn.take_step(MEASURES)
    assert step is not None
    return store_measures(turn.services, turn.caller, int(step["notice_id"]), text)


def _replacing(reply: Reply) -> Reply:
    from dataclasses import replace

    return replace(reply, show=Show.REPLACE)
