"""Data access for the WeCom door: which callbacks were already taken in.

Claiming a callback is one ``INSERT`` of its key: the primary key, not the caller, decides
which of two deliveries (a WeCom retry racing the first, a second instance) processes it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from db.models import WecomCallbackSeen, utcnow


def claim_callback(*, session: Session, key: str, now: datetime | None = None) -> bool:
    """Record ``key``; True if it was new (process it), False if it was seen before."""
    try:
        with session.begin_nested():
            session.add(WecomCallbackSeen(key=key[:200], received_at=now or utcnow()))
    except IntegrityError:
        return False
    return True


def prune_callbacks(*, session: Session, before: datetime) -> int:
    """Forget callbacks received before ``before``; the number forgotten."""
    result = session.execute(
        delete(WecomCallbackSeen).where(col(WecomCallbackSeen.received_at) < before)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
