"""Every command's help is user-facing text, so it is written in Chinese."""

from __future__ import annotations

import re
from typing import Any

import typer
from typer.core import TyperOption

from bot.cli.main import app

HAN = re.compile(r"[\u4e00-\u9fff]")


def walk(command: Any, path: str = "kpibot") -> list[tuple[str, Any]]:
    found = [(path, command)]
    for name, sub in getattr(command, "commands", {}).items():
        found += walk(sub, f"{path} {name}")
    return found


def test_every_command_and_option_has_chinese_help() -> None:
    commands = walk(typer.main.get_command(app))
    assert len(commands) > 20
    for path, command in commands:
        assert command.help, path
        assert HAN.search(command.help), path
        for param in command.params:
            if isinstance(param, TyperOption) and param.name != "help":
                assert param.help, f"{path} {param.opts}"
                assert HAN.search(param.help), f"{path} {param.opts}"
