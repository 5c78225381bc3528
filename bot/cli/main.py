"""The ``kpibot`` root command: global options, the command groups, and the demo."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from bot.cli import database, learning, questions, rulebook, scoring, telegram_bot, users
from bot.cli import notices as notices_cli
from bot.cli.context import fail, reported_errors, services_of
from bot.services import Services
from bot.settings import load_settings

app = typer.Typer(
    help="kpibot：绩效考评助手（指标问答、积分排名、整改通报）",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def root(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option("--db", help="数据库 URL（默认 KPIBOT_DATABASE_URL 或 sqlite:///kpibot.db）"),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="输出调试日志")] = False,
) -> None:
    """Build the services every command uses."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING)
    services = Services(load_settings(db))
    ctx.obj = services
    ctx.call_on_close(services.close)


def ensure_sample_rulebook(services: Services) -> bool:
    """Load the shipped sample rulebook when the database has none; True if loaded."""
    if services.rulebook() is not None:
        return False
    from scoring.rulebook_import import import_rulebook_file

    with services.session() as session:
        import_rulebook_file(
            session=session, path=services.settings.sample_rulebook, imported_by="demo"
        )
    services.reload()
    return True


AsOption = Annotated[
    str | None,
    typer.Option(
        "--as",
        help="身份：admin、staff:单位编码、liaison:单位编码，或 telegram:已绑定用户的 ID",
    ),
]


def open_console(services: Services, as_text: str | None) -> None:
    """Run the console chat as the caller ``--as`` names."""
    from bot.console import ConsoleChat, resolve_identity

    try:
        identity = resolve_identity(services, as_text)
    except ValueError as exc:
        fail(str(exc))
    ConsoleChat(services.dispatcher, identity).run()


@app.command("chat", help="在终端打开对话（可用 --as 指定身份）")
def chat_command(ctx: typer.Context, as_: AsOption = None) -> None:
    """Open the console chat on the current database (as anyone, or as a role)."""
    services = services_of(ctx)
    with reported_errors():
        open_console(services, as_)


@app.command("demo", help="载入示例数据（如尚未载入）并打开终端对话")
def demo_command(ctx: typer.Context, as_: AsOption = "admin") -> None:
    """Set up the sample data (if missing) and open the console chat on it."""
    services = services_of(ctx)
    with reported_errors():
        if ensure_sample_rulebook(services):
            rulebook_loaded = services.rulebook()
            assert rulebook_loaded is not None
            typer.echo(
                f"已载入示例细则《{rulebook_loaded.title}》，"
                f"共 {len(rulebook_loaded.indicators)} 项指标。"
            )
        if seeded := scoring.ensure_demo_scores(services):
            typer.echo(seeded)
        open_console(services, as_)


app.command("ask", help="查询指标含义：打印指标卡、候选项或“未覆盖”提示；无参数时逐行读取标准输入")(
    questions.ask_command
)
app.add_typer(rulebook.app, name="rulebook")
app.add_typer(database.app, name="db")
app.add_typer(questions.report_app, name="report")
app.add_typer(users.app, name="users")
app.add_typer(learning.questions_app, name="questions")
app.add_typer(learning.synonyms_app, name="synonyms")
app.command("run", help="运行 Telegram 机器人（默认长轮询；配置 KPIBOT_WEBHOOK_URL 时用 webhook）")(
    telegram_bot.run_command
)
app.add_typer(scoring.units_app, name="units")
app.add_typer(scoring.ledger_app, name="ledger")
app.add_typer(scoring.reviews_app, name="reviews")
app.command("rank", help="按月、季、半年或年度在各分组内排名")(scoring.rank_command)
app.command("score", help="查看单位得分明细：各指标、背后的台账记录、名次与差距")(
    scoring.score_command
)
app.command("remind", help="发布某月整改通报给末位单位的绩效联络员")(notices_cli.remind_command)
app.add_typer(notices_cli.app, name="notices")


def run() -> None:
    """Console-script entry point."""
    app()
