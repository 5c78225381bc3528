"""Running the real ``kpibot`` command line in-process."""

from __future__ import annotations

from dataclasses import dataclass

from typer.testing import CliRunner

from bot.cli.main import app


@dataclass
class Run:
    """What one command printed and how it exited."""

    code: int
    out: str
    err: str


def kpibot(database_url: str, *args: str, stdin: str | None = None, unmasked: bool = False) -> Run:
    """Run ``kpibot --db URL ARGS`` (with ``--unmasked`` when asked) and capture its output."""
    runner = CliRunner()
    options = ["--db", database_url, *(["--unmasked"] if unmasked else [])]
    result = runner.invoke(app, [*options, *args], input=stdin, catch_exceptions=False)
    return Run(result.exit_code, result.stdout, result.stderr)
