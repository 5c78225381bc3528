"""The Telegram handlers: parse the update, call the shared logic, render, reply.

Every callback has the python-telegram-bot shape and is registered in :mod:`bot.telegram.app`
behind the permission guard, so the caller here is already admitted.
"""

from __future__ import annotations

import html
import logging
import secrets
import uuid
from typing import Any

from telegram import BotCommandScopeChat, Update
from telegram.constants import ChatType
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.access import OTHER_UNIT, Audience, Caller, admit, unit_in_view
from bot.conversation import Button, Reply
from bot.telegram.commands import BUTTONS, menu_for, usage, visible_to
from bot.telegram.desk import caller_of, desk_of
from bot.telegram.replies import answer_text, keyboard, send
from bot.telegram.split import split_html
from bot.uploads import MAX_UPLOAD_BYTES
from db import users_store

logger = logging.getLogger(__name__)

PENDING_ADDS = "pending_adds"
MAX_NOTE = 200


def _reply(renderer_html: str, buttons: tuple[Button, ...] = ()) -> Reply:
    return Reply(renderer_html, buttons)


async def _respond(update: Update, reply: Reply) -> None:
    message = update.effective_message
    if message is not None:
        await send(message, reply)


def _help_html(context: ContextTypes.DEFAULT_TYPE, caller: Caller) -> str:
    renderer = desk_of(context).services.renderer
    return renderer.html("help.html.j2", commands=visible_to(caller), uploads=caller.is_admin)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Bind the user with an invite code (/start CODE), or greet them."""
    desk = desk_of(context)
    user = update.effective_user
    if user is None:
        return
    if context.args:
        reply = await desk.run(desk.membership.bind, user.id, context.args[0])
        await _respond(update, reply)
        caller = await desk.run(desk.membership.caller, user.id)
        if caller.role is not None and update.effective_chat is not None:
            await set_menu(context, update.effective_chat.id, caller)
        return
    caller = await desk.run(desk.membership.caller, user.id)
    await _respond(update, _reply(desk.services.renderer.html("welcome.html.j2", caller=caller)))


async def set_menu(context: ContextTypes.DEFAULT_TYPE, chat_id: int, caller: Caller) -> None:
    """Show a bound user the commands of their role in their private chat."""
    await context.bot.set_my_commands(menu_for(caller), scope=BotCommandScopeChat(chat_id))


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List the commands this user may use."""
    desk = desk_of(context)
    user = update.effective_user
    caller = await desk.run(desk.membership.caller, user.id if user else None)
    await _respond(update, _reply(_help_html(context, caller)))


async def ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer /ask QUESTION."""
    question = " ".join(context.args or [])
    if not question.strip():
        await answer_text(update, usage("ask"))
        return
    await _answer(update, context, question)


async def question(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer plain text in a private chat, or a mention of the bot in a group."""
    message = update.effective_message
    if message is None or not message.text:
        return
    text = message.text
    chat = update.effective_chat
    if chat is not None and chat.type != ChatType.PRIVATE:
        mention = f"@{context.bot.username}"
        if mention.lower() not in text.lower():
            return
        index = text.lower().index(mention.lower())
        text = text[:index] + text[index + len(mention) :]
    if not text.strip():
        await answer_text(update, "请直接输入您的问题，例如“非接触式办税怎么考核”。")
        return
    await _answer(update, context, text)


async def _answer(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
    desk = desk_of(context)
    await _respond(update, await desk.run(desk.conversation.ask, text))


async def indicator(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show an indicator card by code."""
    if not context.args:
        await answer_text(update, usage("indicator"))
        return
    desk = desk_of(context)
    await _respond(update, await desk.run(desk.conversation.card, context.args[0]))


async def score(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show the unit's points, breakdown and rank for a period (this month by default)."""
    await _score(update, context, full=False)


async def why(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show every ledger entry behind the unit's points."""
    await _score(update, context, full=True)


async def _score(update: Update, context: ContextTypes.DEFAULT_TYPE, *, full: bool) -> None:
    desk = desk_of(context)
    caller = caller_of(context)
    unit, period = desk.scoreboard.unit_and_period(caller, context.args or [])
    if unit is None:
        name = "why" if full else "score"
        hint = "管理员请写明单位，" if caller.is_admin else ""
        await answer_text(update, html.escape(hint + usage(name)))
        return
    await _respond(update, await desk.run(desk.scoreboard.score, unit, period, full=full))


async def rank(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show the group's ranking, the user's unit highlighted."""
    desk = desk_of(context)
    caller = caller_of(context)
    period = " ".join(context.args or []) or None
    await _respond(update, await desk.run(desk.scoreboard.rank, caller.unit_code, None, period))


async def add(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Prepare a ledger entry and ask the admin to confirm it."""
    args = list(context.args or [])
    if len(args) < 4:
        await answer_text(update, html.escape(usage("add")))
        return
    unit, indicator_code, points = args[:3]
    note = " ".join(args[3:])[:MAX_NOTE]
    token = secrets.token_hex(4)
    pending: dict[str, tuple[str, str, str, str]] = context.user_data.setdefault(  # type: ignore[union-attr]
        PENDING_ADDS, {}
    )
    reply = desk_of(context).scoreboard.confirm_add(
        unit=unit, indicator=indicator_code, points=points, note=note, token=token
    )
    if reply.buttons:  # no buttons: the points were refused, nothing waits for a confirm
        pending[token] = (unit, indicator_code, points, note)
    await _respond(update, reply)


async def reverse(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reverse a ledger entry: /reverse ID REASON."""
    args = list(context.args or [])
    if len(args) < 2 or not args[0].isdigit():
        await answer_text(update, html.escape(usage("reverse")))
        return
    desk = desk_of(context)
    who = f"tg:{caller_of(context).user_id}"
    reply = await desk.run(
        desk.scoreboard.reverse, entry_id=int(args[0]), note=" ".join(args[1:]), entered_by=who
    )
    await _respond(update, reply)


async def invite(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Make a one-time invite code: /invite ROLE [UNIT]."""
    args = list(context.args or [])
    if not args or len(args) > 2:
        await answer_text(update, html.escape(usage("invite")))
        return
    desk = desk_of(context)
    reply = await desk.run(
        desk.membership.invite,
        role_text=args[0],
        unit=args[1] if len(args) > 1 else None,
        created_by=f"tg:{caller_of(context).user_id}",
    )
    await _respond(update, reply)


async def unanswered(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List the latest questions the bot could not answer."""
    desk = desk_of(context)
    await _respond(update, await desk.run(desk.conversation.recent_unanswered))


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Follow an inline button: candidates, interpretations, feedback, details, confirmations."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    desk = desk_of(context)
    kind = query.data.partition(":")[0]
    audience = BUTTONS.get(kind)
    if audience is None:
        await query.answer("该按钮已失效，请重新提问。")
        return
    caller = (
        Caller(query.from_user.id)
        if audience is Audience.ANYONE
        else await desk.run(desk.membership.caller, query.from_user.id)
    )
    refusal = admit(caller, audience, f"button {kind}")
    if refusal is not None:
        await answer_text(update, refusal)
        return
    if kind == "fb":
        _, flag, code = query.data.split(":", 2)
        await desk.run(_store_feedback, desk.services, query.from_user.id, code, flag == "1")
        await query.answer("感谢您的反馈！")
        return
    if kind == "add":
        await _confirm_add(update, context, caller)
        return
    if kind == "why":
        _, unit, period = query.data.split(":", 2)
        if unit_in_view(caller, unit) is None:
            await query.answer(OTHER_UNIT.format(unit=caller.unit_code), show_alert=True)
            return
    await query.answer()
    if kind == "why":
        reply = await desk.run(desk.scoreboard.score, unit, period, full=True)
    else:
        reply = await desk.run(desk.conversation.press, query.data)
    await _edit(update, reply)


def _store_feedback(services: Any, user_id: int, code: str, useful: bool) -> None:
    with services.session() as session:
        users_store.record_feedback(
            session=session,
            telegram_id=user_id,
            indicator_code=code,
            useful=useful,
            channel="telegram",
        )


async def _edit(update: Update, reply: Reply) -> None:
    """Replace the pressed message with the reply (a long one goes out as new messages)."""
    query = update.callback_query
    assert query is not None
    pieces = split_html(reply.html)
    if len(pieces) > 1 or query.message is None:
        await _respond(update, reply)
        return
    try:
        await query.edit_message_text(pieces[0], parse_mode="HTML", reply_markup=keyboard(reply))
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


async def _confirm_add(update: Update, context: ContextTypes.DEFAULT_TYPE, caller: Caller) -> None:
    query = update.callback_query
    assert query is not None
    assert query.data is not None
    _, decision, token = query.data.split(":", 2)
    pending: dict[str, tuple[str, str, str, str]] = (context.user_data or {}).get(PENDING_ADDS, {})
    entry = pending.pop(token, None)
    await query.answer()
    if entry is None:
        await _edit(update, Reply("该录入请求已处理或已过期。"))
        return
    if decision != "ok":
        await _edit(update, Reply("已取消，未录入任何数据。"))
        return
    desk = desk_of(context)
    unit, indicator_code, points, note = entry
    reply = await desk.run(
        desk.scoreboard.add,
        unit=unit,
        indicator=indicator_code,
        points=points,
        note=note,
        entered_by=f"tg:{caller.user_id}",
    )
    await _edit(update, reply)


async def upload(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Import a rulebook, units, ledger or reviews file an admin sends (caption may name it)."""
    message = update.effective_message
    if message is None or message.document is None:
        return
    document = message.document
    name = document.file_name or "upload"
    if document.file_size is not None and document.file_size > MAX_UPLOAD_BYTES:
        limit = MAX_UPLOAD_BYTES // 2**20
        await answer_text(update, html.escape(f"{name}：文件过大（上限 {limit} MB），未导入。"))
        return
    telegram_file = await document.get_file()
    data = bytes(await telegram_file.download_as_bytearray())
    desk = desk_of(context)
    reply = await desk.run(
        desk.uploads.import_file,
        name,
        data,
        caption=message.caption,
        by=f"tg:{caller_of(context).user_id}",
    )
    await _respond(update, reply)


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a command the bot does not have."""
    chat = update.effective_chat
    if chat is not None and chat.type != ChatType.PRIVATE:
        return
    await answer_text(update, "没有这个命令。发送 /help 查看可用命令。")


async def not_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer stickers, photos and the like in a private chat."""
    await answer_text(update, "抱歉，我只能看懂文字消息。请用文字描述您的问题。")


async def error_handler(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log any handler error with an id and tell the user briefly."""
    error_id = uuid.uuid4().hex[:8]
    logger.error("error %s while handling an update", error_id, exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await answer_text(
                update, f"抱歉，处理您的请求时出错了（错误编号 {error_id}），已记录，请稍后再试。"
            )
        except Exception:  # the error may be Telegram itself being unreachable
            logger.warning("could not tell the user about error %s", error_id, exc_info=True)
