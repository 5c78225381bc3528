"""One turn of a conversation: who is writing, the services, and their pending step."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.core.access import Caller
from bot.services import Services


@dataclass
class Turn:
    """What a command or button handler gets: the caller, the services, and the caller's
    pending step (kept in the database between turns by the dispatcher)."""

    services: Services
    caller: Caller
    choices: tuple[str, ...] = ()
    pending: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def await_step(self, kind: str, **data: Any) -> None:
        """Make the caller's next step ``kind`` (confirm an entry, type measures)."""
        self.pending = kind
        self.data = dict(data)

    def take_step(self, kind: str) -> dict[str, Any] | None:
        """The data of the pending step ``kind``, which is then done; None if not pending."""
        if self.pending != kind:
            return None
        data = self.data
        self.pending, self.data = None, {}
        return data
