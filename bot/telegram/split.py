"""Splitting long HTML replies under Telegram's message limit without breaking markup."""

from __future__ import annotations

import re

from telegram.constants import MessageLimit

LIMIT = MessageLimit.MAX_TEXT_LENGTH  # 4096
_TAG = re.compile(r"<(/?)(b|i|u|s|code|pre)>")


def _open_tags(text: str) -> list[str]:
    stack: list[str] = []
    for match in _TAG.finditer(text):
        closing, name = match.groups()
        if closing and name in stack:
            stack.remove(name)
        elif not closing:
            stack.append(name)
    return stack


def _safe_cut(text: str, limit: int) -> int:
    """A cut position ≤ limit that is not inside a tag or an HTML entity."""
    cut = limit
    lt, gt = text.rfind("<", 0, cut), text.rfind(">", 0, cut)
    if lt > gt:
        cut = lt
    amp, semi = text.rfind("&", 0, cut), text.rfind(";", 0, cut)
    if amp > semi and cut - amp <= 10:
        cut = amp
    return max(cut, 1)


def split_html(text: str, limit: int = LIMIT) -> list[str]:
    """Pieces of at most ``limit`` characters, cut at line ends where possible.

    Tags open at a cut are closed at the end of the piece and reopened in the next one.
    """
    pieces: list[str] = []
    reopen = ""
    rest = text
    budget = limit - 40  # room for closing and reopening tags
    while len(reopen) + len(rest) > limit:
        window = reopen + rest
        cut = window.rfind("\n", 0, budget)
        if cut <= len(reopen):
            cut = _safe_cut(window, budget)
        piece = window[:cut]
        open_tags = _open_tags(piece)
        pieces.append(piece + "".join(f"</{t}>" for t in reversed(open_tags)))
        reopen = "".join(f"<{t}>" for t in open_tags)
        rest = window[cut:].lstrip("\n")
    final = reopen + rest
    if final.strip() or not pieces:
        pieces.append(final)
    return pieces
