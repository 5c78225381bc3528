"""The one outgoing boundary: every text a door sends passes :func:`outgoing` first.

Replies of the core are sealed by the dispatcher (:func:`seal`); the few texts a door writes
itself (flood warning, internal error) and every line the CLI prints (text and JSON) pass
:func:`outgoing` too, so a new reply or a new door cannot forget the masking. The database
keeps what was entered; only what leaves is masked.
"""

from __future__ import annotations

from dataclasses import replace

from bot.core.reply import Button, Reply
from scoring.notices import mask_identifiers


def outgoing(text: str) -> str:
    """A text about to leave the system, with personal identifiers masked."""
    return mask_identifiers(text)


def seal(reply: Reply) -> Reply:
    """The reply with its text and button labels passed through :func:`outgoing`."""
    rows = tuple(tuple(Button(outgoing(b.label), b.data) for b in row) for row in reply.rows)
    return replace(reply, text=outgoing(reply.text), rows=rows)
