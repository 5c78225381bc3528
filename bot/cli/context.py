"""What every command gets: the services built from settings and the global options."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer

from bot.services import Services


def services_of(ctx: typer.Context) -> Services:
    """The services the root callback built."""
    services = ctx.find_root().obj
    assert isinstance(services, Services)
    return services


def fail(message: str, code: int = 1) -> NoReturn:
    """Print a message to stderr and exit non-zero."""
    typer.echo(message, err=True)
    raise typer.Exit(code)


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turn input and schema errors into a plain message and a non-zero exit."""
    from db.schema import SchemaError
    from knowledge.files import InputError

    try:
        yield
    except InputError as exc:
        typer.echo(f"发现 {len(exc.problems)} 个问题，未写入任何数据：", err=True)
        for problem in exc.problems:
            typer.echo(f"  - {problem}", err=True)
        raise typer.Exit(1) from exc
    except SchemaError as exc:
        fail(str(exc), 2)


def stdin_is_terminal() -> bool:
    """Whether standard input is an interactive terminal."""
    return sys.stdin.isatty()
