"""What every handler reaches through ``context.bot_data``: the shared front-door logic."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from telegram.ext import CallbackContext

from bot.access import Caller
from bot.conversation import Conversation
from bot.membership import Membership
from bot.scoreboard import Scoreboard
from bot.services import Services
from bot.uploads import Uploads

T = TypeVar("T")
DESK = "kpibot.desk"
CALLER = "kpibot_caller"


@dataclass
class Desk:
    """The services and the conversation logic the Telegram handlers call."""

    services: Services
    conversation: Conversation
    scoreboard: Scoreboard
    membership: Membership
    uploads: Uploads

    @classmethod
    def build(cls, services: Services, *, today: Callable[[], date] = date.today) -> Desk:
        """The desk over ``services``."""
        return cls(
            services=services,
            conversation=Conversation(services, channel="telegram"),
            scoreboard=Scoreboard(services, today=today),
            membership=Membership(services),
            uploads=Uploads(services, today=today),
        )

    async def run(self, work: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run blocking work (database, matcher) off the event loop."""
        return await asyncio.to_thread(work, *args, **kwargs)


def desk_of(context: CallbackContext[Any, Any, Any, Any]) -> Desk:
    """The desk stored at build time."""
    desk = context.bot_data[DESK]
    assert isinstance(desk, Desk)
    return desk


def remember_caller(context: CallbackContext[Any, Any, Any, Any], caller: Caller) -> None:
    """Keep the admitted caller for the handler of this update."""
    context.__dict__[CALLER] = caller


def caller_of(context: CallbackContext[Any, Any, Any, Any]) -> Caller:
    """The caller the permission guard admitted for this update."""
    caller = context.__dict__.get(CALLER)
    assert isinstance(caller, Caller)
    return caller
