"""One Jinja2 environment for all replies: HTML for Telegram, plain text for a terminal."""

from __future__ import annotations

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


class Renderer:
    """Renders the reply templates in ``bot/templates``."""

    def __init__(self) -> None:
        self.env = Environment(
            loader=PackageLoader("bot", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self.env.filters["points"] = format_points
        self.env.filters["score"] = format_score

    def html(self, template: str, **context: Any) -> str:
        """The template rendered as Telegram-safe HTML."""
        return self.env.get_template(template).render(**context).strip()

    def plain(self, template: str, **context: Any) -> str:
        """The template rendered for a terminal: tags dropped, entities decoded."""
        return html_to_plain(self.html(template, **context))
