"""Flood control at the Telegram door, on the core's :class:`~bot.core.flood.FloodGate`."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot.core.boundary import outgoing
from bot.core.dispatcher import TOO_FAST
from bot.core.flood import Admission
from bot.core.flood import FloodGate as Window
from bot.telegram.door import BotContext

logger = logging.getLogger(__name__)


@dataclass
class FloodGate:
    """Stops an update from a flooding user before any handler sees it (a handler of group
    -1); only the flooding user is slowed down."""

    limit: int = 20
    window: float = 10.0
    gate: Window = field(init=False)

    def __post_init__(self) -> None:
        self.gate = Window(self.limit, self.window)

    async def __call__(self, update: Update, context: BotContext) -> None:
        """Stop the update here when its sender is flooding."""
        user = update.effective_user
        if user is None:
            return
        admission = self.gate.admit(user.id)
        if admission is Admission.HANDLE:
            return
        logger.info("flood: dropped an update from user %s", user.id)
        if admission is Admission.DROP_AND_WARN:
            if update.callback_query is not None:
                await update.callback_query.answer(outgoing(TOO_FAST), show_alert=True)
            elif update.effective_message is not None:
                await update.effective_message.reply_text(outgoing(TOO_FAST), do_quote=False)
        raise ApplicationHandlerStop
