"""The office's review loop in the core: picks, votes, /unanswered, /attach, /synonym,
/questions. Each handler parses, calls a use case of :mod:`bot.learning`, returns a reply."""

from __future__ import annotations

import re

from markupsafe import escape

from bot.core.reply import Reply, Show
from bot.core.turn import Turn
from knowledge.rulebook import Level

ATTACH_HINT = "/attach 组号 指标编码"


def _question_id(text: str | None) -> int | None:
    return int(text) if text else None


def press_indicator(turn: Turn, match: re.Match[str]) -> Reply:
    """A clarify candidate picked: its card, and the question learned for it."""
    from bot import learning

    code, question_id = match[1], _question_id(match[2])
    if question_id is not None:
        learning.record_pick(turn.services, question_id, code, by=turn.caller.who)
    reply = turn.services.conversation.card(code, question_id=question_id)
    return Reply(reply.text, reply.rows, show=Show.REPLACE)


def press_level(turn: Turn, match: re.Match[str]) -> Reply:
    """One level of interpretation of a card (the card keeps the question it answers)."""
    card = turn.services.conversation.card(
        match[1], Level(match[2]), question_id=_question_id(match[3])
    )
    return Reply(card.text, card.rows, show=Show.REPLACE)


def press_feedback(turn: Turn, match: re.Match[str]) -> Reply:
    """👍/👎: on the answer to a logged question the voter's last press counts (and a 👍
    teaches the question); on a card shown by code, stored as before."""
    from bot import learning

    useful, code, question_id = match[1] == "1", match[2], _question_id(match[3])
    if question_id is None:
        turn.services.membership.record_feedback(turn.caller, code, useful=useful)
    else:
        learning.record_vote(
            turn.services,
            question_id,
            code,
            voter=turn.caller.who,
            useful=useful,
            channel=turn.caller.channel,
        )
    return Reply("感谢您的反馈！", show=Show.POPUP)


def unanswered(turn: Turn, args: tuple[str, ...]) -> Reply:
    """Open questions grouped, with buttons attaching a group to a likely indicator."""
    return turn.services.conversation.unanswered()


def _attached(turn: Turn, reference: str, code: str) -> Reply:
    from bot import learning

    attached = learning.attach(turn.services, reference, code, by=turn.caller.who)
    return Reply(turn.services.renderer.html("attached.html.j2", attached=attached))


def attach(turn: Turn, args: tuple[str, ...]) -> Reply:
    """/attach G12 DL-06: a group of similar questions (or one, by number) to an indicator."""
    return _attached(turn, args[0], args[1])


def press_attach(turn: Turn, match: re.Match[str]) -> Reply:
    """The attach button of /unanswered."""
    reply = _attached(turn, match[1], match[2])
    return Reply(reply.text, show=Show.REPLACE)


def synonym(turn: Turn, args: tuple[str, ...]) -> Reply:
    """/synonym 排队 等候时长 adds, /synonym -排队 [等候时长] removes."""
    from bot import learning
    from bot.core.errors import UserError

    if args[0].startswith("-"):
        word = args[0][1:]
        removed = learning.remove_synonym(turn.services, word, args[1] if len(args) > 1 else None)
        if not removed:
            raise UserError(f"同义词表中没有“{word}”。")
        return Reply(f"已删除 {removed} 条同义词，立即生效。")
    if len(args) != 2:
        from bot.core.commands import BY_NAME

        raise UserError(BY_NAME["synonym"].usage_line)
    added = learning.set_synonym(turn.services, args[0], args[1], by=turn.caller.who)
    pair = f"{escape(args[0].strip())} → {escape(args[1].strip())}"
    return Reply(f"已添加同义词：{pair}，立即生效。" if added else f"同义词表中已有：{pair}。")


def synonyms(turn: Turn, args: tuple[str, ...]) -> Reply:
    """The office synonym table."""
    from bot import learning

    table = learning.synonyms(turn.services)
    return Reply(turn.services.renderer.html("synonyms.html.j2", synonyms=table))


def questions(turn: Turn, args: tuple[str, ...]) -> Reply:
    """How questions went per indicator, never-asked indicators, frequent open groups."""
    from bot import learning

    report = learning.questions_report(turn.services)
    return Reply(
        turn.services.renderer.html(
            "questions_report.html.j2", report=report, attach_hint=ATTACH_HINT
        )
    )
