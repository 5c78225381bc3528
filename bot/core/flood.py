"""Flood control for every door: a sender going too fast is slowed down alone.

A door asks :meth:`FloodGate.admit` before it hands a message to the dispatcher. The gate
keeps a sliding window per sender (a Telegram user id, a WeCom user id…); the rest of the
burst is dropped, and the sender is told once (:data:`bot.core.dispatcher.TOO_FAST`) until a
message of theirs is admitted again.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Hashable
from dataclasses import dataclass, field
from enum import Enum


class Admission(Enum):
    """What the door does with a message."""

    HANDLE = "handle"
    DROP_AND_WARN = "warn"  # the first dropped message of a burst: say so once
    DROP = "drop"


@dataclass
class FloodGate:
    """At most ``limit`` messages per sender in ``window`` seconds; the rest are dropped."""

    limit: int = 20
    window: float = 10.0
    seen: dict[Hashable, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    warned: set[Hashable] = field(default_factory=set)

    def allow(self, sender: Hashable, now: float | None = None) -> bool:
        """Whether this sender's next message may be handled."""
        now = time.monotonic() if now is None else now
        times = self.seen[sender]
        while times and now - times[0] > self.window:
            times.popleft()
        if len(times) >= self.limit:
            return False
        times.append(now)
        self.warned.discard(sender)
        return True

    def admit(self, sender: Hashable, now: float | None = None) -> Admission:
        """Handle the message, or drop it (warning the sender once per burst)."""
        if self.allow(sender, now):
            return Admission.HANDLE
        if sender in self.warned:
            return Admission.DROP
        self.warned.add(sender)
        return Admission.DROP_AND_WARN
