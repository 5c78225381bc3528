"""The Telegram transport of the notice outbox (:class:`scoring.outbox.Transport`).

Turns an outbox message into ``sendMessage`` calls (split under Telegram's length limit,
the 已阅 / 报送整改措施 keyboard under the last piece) and Telegram's answer into a
:class:`DeliveryOutcome`. What matters is telling "certainly not sent" (no connection,
flood control, a refusal) from "no answer" (a read timeout, a connection lost mid-request):
the first is retried, the second is uncertain and never sent again.
"""

from __future__ import annotations

import os

import httpx
from telegram import Bot, InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot.core.boundary import outgoing
from bot.core.notices import notice_buttons
from bot.core.reply import Reply
from bot.telegram.door import keyboard
from bot.telegram.split import split_html
from db.outbox_store import TELEGRAM
from scoring.outbox import DeliveryOutcome, OutboundMessage

# Opt in to python-telegram-bot's timedelta time periods (RetryAfter.retry_after): the int
# form is deprecated and warns on every flood-control answer.
os.environ.setdefault("PTB_TIMEDELTA", "true")

# httpx errors raised before a single byte of the request left: safe to send again.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def notice_keyboard(notice_id: int) -> InlineKeyboardMarkup | None:
    """已阅 and 报送整改措施 under a notice or its reminder (the core's buttons)."""
    return keyboard(Reply("", notice_buttons(notice_id)))


def never_left(exc: BaseException) -> bool:
    """Whether a network error happened before the request reached Telegram."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, NOT_SENT):
            return True
        cause = cause.__cause__
    return False


def _seconds(value: object) -> float:
    total = getattr(value, "total_seconds", None)
    return float(total()) if callable(total) else float(value)  # type: ignore[arg-type]


class TelegramTransport:
    """Delivers outbox messages addressed to Telegram chats through a bot."""

    channel = TELEGRAM

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def deliver(self, message: OutboundMessage) -> DeliveryOutcome:
        """Send every piece of the message; the outcome of the whole."""
        pieces = split_html(outgoing(message.text))
        markup = (
            notice_keyboard(message.notice_id) if message.buttons and message.notice_id else None
        )
        chat = int(message.to.address)
        sent: Message | None = None
        try:
            for number, piece in enumerate(pieces, start=1):
                sent = await self.bot.send_message(
                    chat,
                    piece,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup if number == len(pieces) else None,
                )
        except Exception as exc:  # every failure becomes an outcome
            return self._failure(exc, partly_sent=sent is not None)
        assert sent is not None
        return DeliveryOutcome.sent(str(sent.message_id))

    @staticmethod
    def _failure(exc: Exception, *, partly_sent: bool) -> DeliveryOutcome:
        detail = f"{type(exc).__name__}: {exc}"
        if partly_sent:
            # Sending the whole again would repeat the pieces that arrived.
            return DeliveryOutcome.uncertain(f"部分送达后中断：{detail}")
        if isinstance(exc, RetryAfter):
            return DeliveryOutcome.retry_later(
                detail, after=_seconds(exc.retry_after), counts=False
            )
        if isinstance(exc, Forbidden):
            return DeliveryOutcome.blocked(detail)
        if isinstance(exc, BadRequest):
            return DeliveryOutcome.failed(detail)
        if isinstance(exc, NetworkError | OSError) and never_left(exc):
            return DeliveryOutcome.retry_later(detail)
        # A timeout, a connection lost after the request went out, a server error, anything
        # else: it may have arrived. Never again; the acknowledgement loop settles it.
        return DeliveryOutcome.uncertain(detail)
