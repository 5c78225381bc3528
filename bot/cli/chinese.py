"""Chinese help pages and usage errors for the command line.

Typer (on its vendored Click) writes "Usage:", "Options", "Show this message and exit." and
English errors such as "Missing argument 'UNIT'." Every user-facing text of kpibot is
Chinese, so the command classes below write the help page themselves (with Click's public
formatter) and turn usage errors into one Chinese sentence. No library translates Click's
messages; Click has no catalogue of its own.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

HELP_TEXT = "显示本帮助并退出"
USAGE = "用法："


def _option_row(param: Any) -> tuple[str, str] | None:
    if getattr(param, "hidden", False):
        return None
    if param.name == "help":
        return "--help", HELP_TEXT
    names = ", ".join([*param.opts, *param.secondary_opts])
    if not getattr(param, "is_flag", False):
        names += " 值"
    text = param.help or ""
    default = param.default
    if param.required:
        text += "（必填）"
    elif default not in (None, False, "", ()) and not getattr(param, "is_flag", False):
        text += f"（默认：{getattr(default, 'value', default)}）"
    return names, text


def _argument_row(param: Any) -> tuple[str, str]:
    text = param.help or ""
    if not param.required:
        text += "（可省略）"
    return param.name.upper(), text


def _usage_pieces(command: Any, ctx: Any) -> list[str]:
    pieces = ["[选项]"]
    for param in command.get_params(ctx):
        if param.param_type_name == "argument":
            name = param.name.upper()
            pieces.append(name if param.required else f"[{name}]")
    return pieces


def write_help(command: Any, ctx: Any, formatter: Any) -> None:
    """The help page of ``command`` in Chinese."""
    pieces = _usage_pieces(command, ctx)
    if isinstance(command, TyperGroup):
        pieces.append("命令 [参数]...")
    formatter.write_usage(ctx.command_path, " ".join(pieces), prefix=USAGE)
    if command.help:
        formatter.write_paragraph()
        with formatter.indentation():
            formatter.write_text(command.help)
    params = command.get_params(ctx)
    arguments = [_argument_row(p) for p in params if p.param_type_name == "argument"]
    options = [r for p in params if p.param_type_name == "option" if (r := _option_row(p))]
    for title, rows in (("参数", arguments), ("选项", options)):
        if rows:
            with formatter.section(title):
                formatter.write_dl(rows)
    if isinstance(command, TyperGroup):
        rows = []
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                rows.append((name, sub.get_short_help_str(limit=80)))
        if rows:
            with formatter.section("命令"):
                formatter.write_dl(rows)


def usage_error(error: Exception, command_path: str) -> str:
    """One Chinese sentence for a command-line usage error."""
    kind = type(error).__name__
    param = getattr(error, "param", None)
    name = "/".join(getattr(param, "opts", []) or []) or str(getattr(param, "name", "") or "")
    if param is not None and getattr(param, "param_type_name", "") == "argument":
        name = str(param.name).upper()
    if kind == "MissingParameter":
        what = f"参数 {name}" if name else "参数"
        return f"缺少{what}。查看用法：{command_path} --help"
    if kind == "NoSuchOption":
        option = getattr(error, "option_name", "")
        return f"没有选项 {option}。查看用法：{command_path} --help"
    if kind == "BadParameter":
        return f"{name or '参数'} 的值无效。查看用法：{command_path} --help"
    if kind == "UsageError" and "No such command" in str(error):
        return f"没有这个命令。查看可用命令：{command_path} --help"
    return f"命令用法有误。查看用法：{command_path} --help"


class ChineseCommand(TyperCommand):
    """A command whose help page is Chinese."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """The Chinese help page."""
        write_help(self, ctx, formatter)


class ChineseGroup(TyperGroup):
    """A command group whose help page, and whose usage errors, are Chinese."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """The Chinese help page."""
        write_help(self, ctx, formatter)

    def main(self, args: Sequence[str] | None = None, *rest: Any, **extra: Any) -> Any:
        """Run; a usage error is one Chinese line on stderr and exit code 2."""
        extra["standalone_mode"] = False
        try:
            result = super().main(args, *rest, **extra)
        except typer.Exit as done:
            sys.exit(done.exit_code)
        except typer.Abort:
            typer.echo("已取消。", err=True)
            sys.exit(1)
        except typer.TyperException as error:
            if type(error).__name__ == "NoArgsIsHelpError":
                context = getattr(error, "ctx", None)
                typer.echo(context.get_help() if context is not None else "", err=False)
                sys.exit(0)
            context = getattr(error, "ctx", None)
            path = context.command_path if context is not None else "kpibot"
            typer.echo(usage_error(error, path), err=True)
            sys.exit(2)
        if isinstance(result, int) and result:
            sys.exit(result)
        sys.exit(0)


def chinese_typer(
    help_text: str, *, name: str | None = None, cls: type[ChineseGroup] = ChineseGroup
) -> typer.Typer:
    """A command group with Chinese help, no shell-completion options, plain (not rich) text."""
    return typer.Typer(
        name=name,
        help=help_text,
        cls=cls,
        no_args_is_help=True,
        add_completion=False,
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
    )
