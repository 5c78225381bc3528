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


def kpibot(database_url: str, *args: str, stdin: str | None = None) -> Run:
    """Run ``kpibot --db URL ARGS`` and capture its output."""
    runner = CliRunner()
    result = runner.invoke(app, ["--db", database_url, *args], input=stdin, catch_exceptions=False)
    return Run(result.exit_code, result.stdout, result.stderr)
