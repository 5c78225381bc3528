"""Flood control at the Telegram door: a user sending too fast is slowed down alone."""

from __future__ import annotations

import logging
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot.core.boundary import outgoing
from bot.core.dispatcher import TOO_FAST
from bot.telegram.door import BotContext

logger = logging.getLogger(__name__)


@dataclass
class FloodGate:
    """At most ``limit`` updates per user in ``window`` seconds; the rest are dropped.

    Only the flooding user is slowed down: others have their own windows.
    """

    limit: int = 20
    window: float = 10.0
    seen: dict[int, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    warned: set[int] = field(default_factory=set)

    def allow(self, user_id: int, now: float | None = None) -> bool:
        """Whether this user's next update may be handled."""
        now = time.monotonic() if now is None else now
        times = self.seen[user_id]
        while times and now - times[0] > self.window:
            times.popleft()
        if len(times) >= self.limit:
            return False
        times.append(now)
        self.warned.discard(user_id)
        return True

    async def __call__(self, update: Update, context: BotContext) -> None:
        """Stop the update here when its sender is flooding."""
        user = update.effective_user
        if user is None or self.allow(user.id):
            return
        logger.info("flood: dropped an update from user %s", user.id)
        if user.id not in self.warned:
            self.warned.add(user.id)
            if update.callback_query is not None:
                await update.callback_query.answer(outgoing(TOO_FAST), show_alert=True)
            elif update.effective_message is not None:
                await update.effective_message.reply_text(outgoing(TOO_FAST), do_quote=False)
        raise ApplicationHandlerStop
