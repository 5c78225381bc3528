"""Sending and editing replies: HTML parse mode, inline keyboards, long texts split."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode

from bot.conversation import Button, Reply
from bot.render import html_to_plain
from bot.telegram.split import split_html

THUMBS = (("👍 有帮助", "1"), ("👎 没帮助", "0"))


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """The inline keyboard of a reply: candidates one per row; a card's levels and feedback."""
    rows: list[list[InlineKeyboardButton]] = [
        [InlineKeyboardButton(b.label, callback_data=b.data)] for b in reply.buttons
    ]
    if reply.indicator is not None:
        if reply.levels and not reply.buttons:
            rows.append([_button(b) for b in reply.levels])
        rows.append(
            [
                InlineKeyboardButton(label, callback_data=f"fb:{flag}:{reply.indicator}")
                for label, flag in THUMBS
            ]
        )
    return InlineKeyboardMarkup(rows) if rows else None


def _button(button: Button) -> InlineKeyboardButton:
    return InlineKeyboardButton(button.label, callback_data=button.data)


async def send(message: Message, reply: Reply) -> None:
    """Send a reply in as many messages as needed; the keyboard goes with the last one."""
    pieces = split_html(reply.html)
    markup = keyboard(reply)
    for number, piece in enumerate(pieces, start=1):
        await message.reply_text(
            piece,
            parse_mode=ParseMode.HTML,
            reply_markup=markup if number == len(pieces) else None,
            do_quote=False,
        )


async def answer_text(update: Update, html: str) -> None:
    """A short answer wherever the update came from (a message or a button press)."""
    query = update.callback_query
    if query is not None:
        await query.answer(_plain_prefix(html), show_alert=True)
        return
    message = update.effective_message
    if message is not None:
        await message.reply_text(html, parse_mode=ParseMode.HTML, do_quote=False)


def _plain_prefix(html: str) -> str:
    return html_to_plain(html)[:200]
