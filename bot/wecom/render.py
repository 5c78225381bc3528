"""The core's replies in WeCom's terms: markdown text and template cards with buttons.

The core writes replies in the Telegram subset of HTML (``<b> <i> <u> <s> <code> <pre> <a>``,
user data escaped). WeCom's markdown knows bold, links, inline code, quotes and three font
colours, so ``<b>`` becomes ``**``, ``<i>`` a grey ``comment`` font, ``<code>`` backticks,
``<a>`` a link, and the other tags fall away. Buttons go on a ``button_interaction`` template
card: at most six buttons a card, each with the core's payload as its key.
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Sequence
from typing import Any

MAX_CARD_BUTTONS = 6  # WeCom's limit for button_list
MAX_TITLE_CHARS = 36  # WeCom shows about this many characters of a card's main title
MAX_DESC_CHARS = 44
MAX_BUTTON_CHARS = 20
SOURCE = "绩效考核助手"

_LINK = re.compile(r'<a\s+href="([^"]*)"\s*>(.*?)</a>', re.DOTALL)
_TAG_NAMES = "b|strong|i|em|u|ins|s|strike|del|code|pre|span|tg-spoiler"
_TAG = re.compile(rf"</?({_TAG_NAMES})(\s[^>]*)?>")
# A reply cut into links, tags and the text between them (the split keeps the separators).
_PIECES = re.compile(rf'(<a\s+href="[^"]*"\s*>.*?</a>|</?(?:{_TAG_NAMES})(?:\s[^>]*)?>)', re.DOTALL)
_BLANK_LINES = re.compile(r"\n{3,}")


# WeCom markdown has no escape character: in text (ours or the user's), what would open a link
# ("]("), a font tag ("<font"), bold, code, a quote or a title becomes its full-width form.
# Everything else stays as typed ("完成率 >= 100%", "[证件号已隐去]").
_MARKDOWN_ACTIVE = str.maketrans({"*": "＊", "`": "｀"})
_OPENERS = re.compile(r"\]\(|<(?=[A-Za-z/!])|^[#>]", re.MULTILINE)
_FULL_WIDTH = {"](": "］(", "<": "＜", "#": "＃", ">": "＞"}


def _plain(text: str) -> str:
    """Escaped reply text as inert WeCom markdown."""
    unescaped = html.unescape(text).translate(_MARKDOWN_ACTIVE)
    return _OPENERS.sub(lambda m: _FULL_WIDTH[m.group(0)], unescaped)


def html_to_markdown(text: str) -> str:
    """Reply HTML as WeCom markdown; text between the tags can never become markup."""

    def tag(match: re.Match[str]) -> str:
        closing = match.group(0).startswith("</")
        name = match.group(1)
        if name in ("b", "strong"):
            return "**"
        if name in ("i", "em"):
            return "</font>" if closing else '<font color="comment">'
        if name == "code":
            return "`"
        return ""

    def piece(part: str) -> str:
        link = _LINK.fullmatch(part)
        if link is not None:
            href = html.unescape(link.group(1)).replace(")", "%29").replace(" ", "%20")
            return f"[{_plain(_TAG.sub('', link.group(2)))}]({href})"
        markup = _TAG.fullmatch(part)
        return tag(markup) if markup is not None else _plain(part)

    parts = _PIECES.split(text)
    return _BLANK_LINES.sub("\n\n", "".join(piece(p) for p in parts if p)).strip()


def html_to_text(text: str) -> str:
    """Reply HTML as plain text (for text messages)."""
    text = _LINK.sub(lambda m: f"{m.group(2)}（{html.unescape(m.group(1))}）", text)
    return _BLANK_LINES.sub("\n\n", html.unescape(_TAG.sub("", text))).strip()


def first_line(text: str, limit: int = MAX_TITLE_CHARS) -> str:
    """The first non-empty line of plain text, cut to ``limit`` characters."""
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return ""


def new_task_id(prefix: str) -> str:
    """A task id WeCom accepts (letters, digits, ``_-@``; unique within the app)."""
    return f"{prefix}-{uuid.uuid4().hex}"


def button_card(
    title: str,
    buttons: Sequence[tuple[str, str]],
    *,
    task_id: str,
    desc: str = "",
    fields: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """A ``button_interaction`` card: a title, optional key/value lines, up to six buttons.

    ``buttons`` are (label, key); the first is shown as the primary button.
    """
    if not 1 <= len(buttons) <= MAX_CARD_BUTTONS:
        raise ValueError(f"a card holds 1 to {MAX_CARD_BUTTONS} buttons, not {len(buttons)}")
    card: dict[str, Any] = {
        "card_type": "button_interaction",
        "source": {"desc": SOURCE},
        "main_title": {"title": first_line(title) or SOURCE},
        "task_id": task_id,
        "button_list": [
            {"text": label[:MAX_BUTTON_CHARS], "style": 1 if index == 0 else 2, "key": key}
            for index, (label, key) in enumerate(buttons)
        ],
    }
    if desc:
        card["main_title"]["desc"] = first_line(desc, MAX_DESC_CHARS)
    if fields:
        card["horizontal_content_list"] = [
            {"keyname": name[:5], "value": value[:26]} for name, value in fields[:6]
        ]
    return card


def chunks(buttons: Sequence[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """Buttons in groups that fit one card each."""
    return [
        list(buttons[start : start + MAX_CARD_BUTTONS])
        for start in range(0, len(buttons), MAX_CARD_BUTTONS)
    ]
