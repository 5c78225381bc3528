"""The reply templates: HTML replies of the core (every door), and the text reports of the CLI.

Two Jinja2 environments over ``bot/templates``: one autoescaping, for the core's replies
(Telegram-subset HTML, shown as plain text by the console), and one for the command line's
tables and breakdowns in ``bot/templates/cli`` (plain text, nothing to escape).
"""

from __future__ import annotations

import unicodedata
from decimal import Decimal
from fractions import Fraction
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from bot.core.reply import html_to_plain
from scoring.compute import round_half_up


def format_points(value: Decimal | None) -> str:
    """Points without trailing zeros: 10, 0.5, 97.25."""
    if value is None:
        return ""
    text = format(value.normalize(), "f")
    return text


def format_score(value: Fraction | Decimal | None) -> str:
    """An exact score rounded half-up to two decimals, without trailing zeros."""
    if value is None:
        return ""
    return format_points(round_half_up(value))


def format_fixed(value: Fraction | Decimal) -> str:
    """An exact score rounded half-up, always with two decimals: 97.25, 100.00."""
    return format(round_half_up(value), "f")


def _cells(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, width: int) -> str:
    """Left-align text in a column of a terminal table, counting CJK characters as two cells."""
    return text + " " * max(width - _cells(text), 0)


def _environment(autoescape: Any) -> Environment:
    return Environment(
        loader=PackageLoader("bot", "templates"),
        autoescape=autoescape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


class Renderer:
    """Renders the reply templates in ``bot/templates``."""

    def __init__(self) -> None:
        self.env = _environment(select_autoescape(default=True, default_for_string=True))
        self.env.filters["points"] = format_points
        self.env.filters["score"] = format_score
        # The CLI's reports go to a terminal or a file, never to HTML: nothing to escape.
        self.text_env = _environment(False)
        self.text_env.filters["fixed"] = format_fixed
        self.text_env.filters["pad"] = pad

    def html(self, template: str, **context: Any) -> str:
        """The template rendered as Telegram-safe HTML."""
        return self.env.get_template(template).render(**context).strip()

    def text(self, template: str, **context: Any) -> str:
        """A command-line report (``cli/…txt.j2``) as plain text."""
        return self.text_env.get_template(template).render(**context).rstrip("\n")

    def plain(self, template: str, **context: Any) -> str:
        """The template rendered for a terminal: tags dropped, entities decoded."""
        return html_to_plain(self.html(template, **context))
