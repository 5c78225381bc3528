"""Admission at the door: the permission check every handler passes, and flood control."""

from __future__ import annotations

import logging
import time
from collections import defaultdict, deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.access import Audience, Caller, admit
from bot.telegram.desk import desk_of, remember_caller
from bot.telegram.replies import answer_text

logger = logging.getLogger(__name__)

Callback = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


def guarded(action: str, audience: Audience, callback: Callback) -> Callback:
    """``callback`` behind the permission check for ``audience``; refusals answer politely."""

    async def admitted(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Look the caller up, refuse or hand over."""
        desk = desk_of(context)
        user = update.effective_user
        if audience is Audience.ANYONE:
            caller = Caller(user.id if user else None)
        else:
            caller = await desk.run(desk.membership.caller, user.id if user else None)
        refusal = admit(caller, audience, action)
        if refusal is not None:
            await answer_text(update, refusal)
            return
        remember_caller(context, caller)
        await callback(update, context)

    admitted.__doc__ = callback.__doc__
    admitted.__name__ = callback.__name__
    return admitted


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

    async def __call__(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Stop the update here when its sender is flooding."""
        user = update.effective_user
        if user is None or self.allow(user.id):
            return
        logger.info("flood: dropped an update from user %s", user.id)
        if user.id not in self.warned:
            self.warned.add(user.id)
            await answer_text(update, "您发送得太快了，请稍等片刻再试。")
        raise ApplicationHandlerStop
