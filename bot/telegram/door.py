"""The Telegram door: parse the update, call the core's dispatcher, send its reply.

Every callback has python-telegram-bot's one shape and is registered in
:mod:`bot.telegram.app`. Nothing here decides what to answer: that is the core's.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import ChatType
from telegram.error import BadRequest
from telegram.ext import CallbackContext, ContextTypes, ExtBot

from bot.core.access import Caller
from bot.core.commands import BY_NAME
from bot.core.dispatcher import (
    CommandCall,
    Dispatcher,
    Press,
    Text,
    Unsupported,
    Upload,
    internal_error,
    new_error_id,
)
from bot.core.dispatcher import Message as CoreMessage
from bot.core.reply import Reply, Show
from bot.services import Services
from bot.telegram.split import split_html

logger = logging.getLogger(__name__)

CHANNEL = "telegram"
SERVICES = "kpibot.services"


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """The callback context, typed, with the services every callback reaches."""

    @property
    def services(self) -> Services:
        """The services built by the composition root."""
        services = self.bot_data[SERVICES]
        assert isinstance(services, Services)
        return services

    @property
    def dispatcher(self) -> Dispatcher:
        """The core's dispatcher."""
        return self.services.dispatcher


CONTEXT_TYPES = ContextTypes(context=BotContext)


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """The reply's button rows as an inline keyboard."""
    if not reply.rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in reply.rows]
    )


def menu_for(dispatcher: Dispatcher, caller: Caller) -> list[BotCommand]:
    """The command menu of a caller, from the core's command table."""
    return [BotCommand(c.name, c.description) for c in dispatcher.commands_for(caller)]


async def send(message: Message, reply: Reply) -> None:
    """Send a reply in as many messages as needed; the keyboard goes with the last one."""
    pieces = split_html(reply.text)
    markup = keyboard(reply)
    for number, piece in enumerate(pieces, start=1):
        await message.reply_text(
            piece, reply_markup=markup if number == len(pieces) else None, do_quote=False
        )


async def _answer_press(update: Update, reply: Reply) -> None:
    query = update.callback_query
    assert query is not None
    if reply.show is Show.POPUP:
        await query.answer(reply.plain[:200], show_alert=True)
        return
    await query.answer()
    pieces = split_html(reply.text)
    if reply.show is Show.REPLACE and len(pieces) == 1 and query.message is not None:
        try:
            await query.edit_message_text(pieces[0], reply_markup=keyboard(reply))
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                raise
        return
    if update.effective_message is not None:
        await send(update.effective_message, reply)


async def _dispatch(update: Update, context: BotContext, message: CoreMessage) -> None:
    user = update.effective_user
    if user is None:
        return
    reply = await asyncio.to_thread(context.dispatcher.handle, CHANNEL, str(user.id), message)
    if update.callback_query is not None:
        await _answer_press(update, reply)
    elif update.effective_message is not None:
        await send(update.effective_message, reply)
    if reply.identity_changed and update.effective_chat is not None:
        caller = await asyncio.to_thread(context.dispatcher.caller, CHANNEL, str(user.id))
        await context.bot.set_my_commands(
            menu_for(context.dispatcher, caller),
            scope=BotCommandScopeChat(update.effective_chat.id),
        )


def _private(update: Update) -> bool:
    return update.effective_chat is not None and update.effective_chat.type == ChatType.PRIVATE


async def on_command(update: Update, context: BotContext) -> None:
    """A command, with its arguments, to the core (in groups only the known ones)."""
    message = update.effective_message
    if message is None or not message.text:
        return
    head, *args = message.text.split()
    name, _, addressee = head[1:].partition("@")
    if addressee and addressee.lower() != (context.bot.username or "").lower():
        return  # a command for another bot in a group
    if not _private(update) and name.lower() not in BY_NAME:
        return  # in a group, an unknown command is likely for someone else
    await _dispatch(update, context, CommandCall(name, tuple(args)))


async def on_text(update: Update, context: BotContext) -> None:
    """Plain text in a private chat, or a mention of the bot in a group, to the core."""
    message = update.effective_message
    if message is None or not message.text:
        return
    text = message.text
    if not _private(update):
        mention = f"@{context.bot.username}".lower()
        index = text.lower().find(mention)
        if index < 0:
            return
        text = text[:index] + text[index + len(mention) :]
    await _dispatch(update, context, Text(text))


async def on_press(update: Update, context: BotContext) -> None:
    """An inline button pressed: its payload to the core."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    await _dispatch(update, context, Press(query.data))


async def on_document(update: Update, context: BotContext) -> None:
    """A file sent in a private chat: checked by the core, fetched, imported."""
    message = update.effective_message
    user = update.effective_user
    if message is None or message.document is None or user is None:
        return
    document = message.document
    name = document.file_name or "upload"
    refusal = await asyncio.to_thread(
        context.dispatcher.refuse_upload, CHANNEL, str(user.id), name, document.file_size or 0
    )
    if refusal is not None:
        await send(message, refusal)
        return
    data = bytes(await (await document.get_file()).download_as_bytearray())
    await _dispatch(update, context, Upload(name, data, message.caption))


async def on_other(update: Update, context: BotContext) -> None:
    """Stickers, photos and the like in a private chat."""
    await _dispatch(update, context, Unsupported())


async def on_error(update: object, context: BotContext) -> None:
    """Log any error with an id and tell the user briefly."""
    error_id = new_error_id()
    logger.error("error %s while handling an update", error_id, exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    reply = internal_error(error_id, context.error)
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(reply.plain[:200], show_alert=True)
        elif update.effective_message is not None:
            await update.effective_message.reply_text(reply.text, do_quote=False)
    except Exception:  # the error may be Telegram itself being unreachable
        logger.warning("could not tell the user about error %s", error_id, exc_info=True)
