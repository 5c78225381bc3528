"""How commands print. Masking is not done here: the root command wraps stdout and stderr in
the outgoing boundary (:func:`bot.core.boundary.masked_standard_streams`), so every line a
command prints is masked, text and JSON alike, unless the office asked for ``--unmasked``."""

from __future__ import annotations

import json
from typing import Any

import typer


def say(text: str = "", *, err: bool = False) -> None:
    """Print one text."""
    typer.echo(text, err=err)


def say_json(data: Any) -> None:
    """Print JSON."""
    say(json.dumps(data, ensure_ascii=False, indent=2))
