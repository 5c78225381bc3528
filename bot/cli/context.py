"""What every command gets: the services built from settings and the global options."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn

import typer

from bot.cli.output import say

if TYPE_CHECKING:
    from bot.services import Services


def services_of(ctx: typer.Context) -> Services:
    """The services the root callback built."""
    from bot.services import Services

    services = ctx.find_root().obj
    assert isinstance(services, Services)
    return services


def fail(message: str, code: int = 1) -> NoReturn:
    """Print a message to stderr and exit non-zero."""
    say(message, err=True)
    raise typer.Exit(code)


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turn what the user got wrong (input, schema, the core's :class:`UserError`) into a
    plain message and a non-zero exit."""
    from bot.core.errors import UserError
    from db.schema import SchemaError
    from knowledge.files import InputError

    try:
        yield
    except InputError as exc:
        say(exc.headline, err=True)
        for line in exc.lines():
            say(f"  - {line}", err=True)
        raise typer.Exit(1) from exc
    except SchemaError as exc:
        fail(str(exc), 2)
    except UserError as exc:
        fail(str(exc))


def stdin_is_terminal() -> bool:
    """Whether standard input is an interactive terminal."""
    return sys.stdin.isatty()
