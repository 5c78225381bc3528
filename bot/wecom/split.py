"""Cutting long replies under WeCom's limits, which count UTF-8 bytes, not characters.

WeCom refuses (errcode 44004/45002) a text over 2048 bytes and a markdown over 4096 bytes;
a Chinese character is 3 bytes, so a 700-character reply is already too long for text.
Pieces are cut at line ends where possible, never inside a character, and a markdown bold
(``**``) open at a cut is closed and reopened so that each piece renders on its own.
"""

from __future__ import annotations

TEXT_LIMIT = 2048
MARKDOWN_LIMIT = 4096
_BOLD = "**"


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _cut_by_bytes(line: str, limit: int) -> list[str]:
    """A line longer than ``limit`` bytes in pieces of at most ``limit`` bytes each."""
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for char in line:
        width = _size(char)
        if size + width > limit and current:
            pieces.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    if current:
        pieces.append("".join(current))
    return pieces


def split_bytes(text: str, limit: int, *, markdown: bool = False) -> list[str]:
    """``text`` in pieces of at most ``limit`` UTF-8 bytes, cut at line ends where possible."""
    if _size(text) <= limit:
        return [text]
    reserve = 2 * len(_BOLD) if markdown else 0
    budget = limit - reserve
    lines: list[str] = []
    for line in text.split("\n"):
        lines.extend(_cut_by_bytes(line, budget) if _size(line) > budget else [line])
    pieces: list[str] = []
    current = ""
    for line in lines:
        candidate = f"{current}\n{line}" if current else line
        if current and _size(candidate) > budget:
            pieces.append(current)
            current = line
        else:
            current = candidate
    if current.strip() or not pieces:
        pieces.append(current)
    return _balance_bold(pieces) if markdown else pieces


def _balance_bold(pieces: list[str]) -> list[str]:
    balanced: list[str] = []
    carry = False
    for piece in pieces:
        text = (_BOLD if carry else "") + piece
        if text.count(_BOLD) % 2:
            text += _BOLD
            carry = True
        else:
            carry = False
        balanced.append(text)
    return balanced
