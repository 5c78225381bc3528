"""Data access for conversation state: the choices last offered and a pending step, per user.

Kept in the database (not in a door's memory) so that a multi-step exchange survives a
restart and works alike in every door and in every instance of the bot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session

from db.models import ConversationState, utcnow


@dataclass(frozen=True)
class StateView:
    """A user's conversation state, detached from the session."""

    choices: tuple[str, ...] = ()
    pending: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    updated_at: datetime | None = None


def load_state(*, session: Session, channel: str, external_id: str) -> StateView:
    """The user's state (empty when they have none)."""
    row = session.get(ConversationState, (channel, external_id))
    if row is None:
        return StateView()
    return StateView(tuple(row.choices), row.pending, dict(row.data), row.updated_at)


def save_state(
    *,
    session: Session,
    channel: str,
    external_id: str,
    choices: tuple[str, ...],
    pending: str | None,
    data: dict[str, Any],
    now: datetime | None = None,
) -> None:
    """Replace the user's state; an empty state deletes the row."""
    row = session.get(ConversationState, (channel, external_id))
    if not choices and pending is None:
        if row is not None:
            session.delete(row)
        return
    if row is None:
        row = ConversationState(channel=channel, external_id=external_id)
    row.choices = list(choices)
    row.pending = pending
    row.data = dict(data)
    row.updated_at = now or utcnow()
    session.add(row)
