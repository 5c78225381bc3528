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


ENGLISH = ("Usage", "Show this message", "Options", "Commands", "<bool>", "[required]", "Error")


def test_help_pages_and_usage_errors_are_chinese(tmp_path: object) -> None:
    from tests.cli_helpers import kpibot

    url = "sqlite:///:memory:"
    pages = [kpibot(url, "--help")]
    for path, _ in walk(typer.main.get_command(app)):
        words = path.split()[1:]
        if words:
            pages.append(kpibot(url, *words, "--help"))
    assert len(pages) > 20
    for page in pages:
        assert page.code == 0
        assert page.out.startswith("用法：kpibot")
        assert [word for word in ENGLISH if word in page.out] == [], page.out
    missing = kpibot(url, "score")
    assert (missing.code, missing.err) == (2, "缺少参数 UNIT。查看用法：kpibot score --help\n")
    unknown = kpibot(url, "nosuch")
    assert (unknown.code, unknown.err) == (2, "没有这个命令。查看可用命令：kpibot --help\n")
    option = kpibot(url, "ask", "--bogus")
    assert (option.code, option.err) == (2, "没有选项 --bogus。查看用法：kpibot ask --help\n")
