"""Everything the command line prints passes the outgoing boundary (text and JSON alike)."""

from __future__ import annotations

import json
from typing import Any

import typer


def say(text: str = "", *, err: bool = False) -> None:
    """Print one text, masked at the outgoing boundary."""
    from bot.core.boundary import outgoing

    typer.echo(outgoing(text), err=err)


def say_json(data: Any) -> None:
    """Print JSON, masked at the outgoing boundary (the masks keep the JSON valid)."""
    say(json.dumps(data, ensure_ascii=False, indent=2))
