"""What the core answers: a reply that knows nothing of any transport.

The text is the Telegram subset of HTML (``<b> <i> <code> <pre>``, user data escaped), which
every door can render: Telegram sends it as is, WeCom turns it into markdown, the console and
the CLI into plain text (:func:`html_to_plain`). Buttons come in rows; a door without buttons
numbers them, and a number typed back picks one (the core remembers what it offered).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from enum import StrEnum

_TAG = re.compile(r"</?(b|i|u|code|pre|s)>")


class Show(StrEnum):
    """How a door shows a reply."""

    MESSAGE = "message"  # a new message
    REPLACE = "replace"  # in place of the message whose button was pressed, where possible
    POPUP = "popup"  # a short note answering a button press (Telegram: an alert)


@dataclass(frozen=True)
class Button:
    """A choice offered with a reply: its label and the payload that comes back when pressed."""

    label: str
    data: str


@dataclass(frozen=True)
class Attachment:
    """A file sent with a reply (an export, a report)."""

    name: str
    data: bytes


@dataclass(frozen=True)
class Reply:
    """Text, buttons in rows, attachments, and how to show them."""

    text: str
    rows: tuple[tuple[Button, ...], ...] = ()
    show: Show = Show.MESSAGE
    attachments: tuple[Attachment, ...] = ()
    # The caller's role changed (an invite was redeemed): doors with a per-user command menu
    # refresh it.
    identity_changed: bool = False

    @property
    def buttons(self) -> tuple[Button, ...]:
        """Every button, row by row: the order a door numbers them in."""
        return tuple(button for row in self.rows for button in row)

    @property
    def plain(self) -> str:
        """The text for a terminal: tags dropped, entities decoded."""
        return html_to_plain(self.text)


def column(buttons: tuple[Button, ...]) -> tuple[tuple[Button, ...], ...]:
    """Buttons one per row (candidates, long labels)."""
    return tuple((button,) for button in buttons)


def html_to_plain(text: str) -> str:
    """Reply HTML as plain text."""
    return html.unescape(_TAG.sub("", text))
