"""The ``kpibot`` root command: global options, the command groups, and the demo."""

from __future__ import annotations

import getpass
import logging
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.cli import (
    collector,
    database,
    learning,
    questions,
    rulebook,
    scoring,
    telegram_bot,
    users,
)
from bot.cli import notices as notices_cli
from bot.cli.chinese import ChineseCommand, ChineseGroup, chinese_typer
from bot.cli.context import fail, reported_errors, services_of
from bot.cli.output import say
from bot.core.boundary import masked_standard_streams

if TYPE_CHECKING:
    from bot.services import Services

logger = logging.getLogger(__name__)
COMMAND_LINE = "kpibot.command_line"
FAULT_EXIT_CODE = 3


class KpibotGroup(ChineseGroup):
    """The root group; it remembers the command line for the log of ``--unmasked``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # click.Context (vendored)
        ctx.meta[COMMAND_LINE] = " ".join(args)
        return super().parse_args(ctx, args)


app = chinese_typer(
    "kpibot：绩效考评助手（指标问答、积分排名、整改通报）", name="kpibot", cls=KpibotGroup
)


@app.callback()
def root(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option("--db", help="数据库 URL（默认 KPIBOT_DATABASE_URL 或 sqlite:///kpibot.db）"),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="输出调试日志")] = False,
    unmasked: Annotated[
        bool,
        typer.Option(
            "--unmasked",
            help="显示未隐去的个人信息（身份证号、电话、地址等）；仅限在服务器上核对，每次使用均记入日志",
        ),
    ] = False,
) -> None:
    """Build the services every command uses; mask what it prints unless ``--unmasked``."""
    from bot.services import Services
    from bot.settings import load_settings

    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING)
    if unmasked:
        logger.warning(
            "personal data shown unmasked: user %s ran kpibot %s",
            getpass.getuser(),
            ctx.meta.get(COMMAND_LINE, ctx.invoked_subcommand),
        )
    else:
        ctx.with_resource(masked_standard_streams())
    services = Services(load_settings(db))
    ctx.obj = services
    ctx.call_on_close(services.close)
    collector.resume_after_start_up()  # the command's own work is collected as usual


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


@app.command("chat", cls=ChineseCommand, help="在终端打开对话（可用 --as 指定身份）")
def chat_command(ctx: typer.Context, as_: AsOption = None) -> None:
    """Open the console chat on the current database (as anyone, or as a role)."""
    services = services_of(ctx)
    with reported_errors():
        open_console(services, as_)


@app.command("demo", cls=ChineseCommand, help="载入示例数据（如尚未载入）并打开终端对话")
def demo_command(ctx: typer.Context, as_: AsOption = "admin") -> None:
    """Set up the sample data (if missing) and open the console chat on it."""
    services = services_of(ctx)
    with reported_errors():
        if services.rulebook() is None:
            say("首次运行：正在载入示例细则、生成一年的示例考核数据，约需半分钟……", err=True)
        if ensure_sample_rulebook(services):
            rulebook_loaded = services.rulebook()
            assert rulebook_loaded is not None
            say(
                f"已载入示例细则《{rulebook_loaded.title}》，"
                f"共 {len(rulebook_loaded.indicators)} 项指标。"
            )
        if seeded := scoring.ensure_demo_scores(services):
            say(seeded)
            if tried := ensure_demo_notices(services):
                say(tried)
        open_console(services, as_)


def ensure_demo_notices(services: Services) -> str | None:
    """Issue last month's notices on the demo data and bind a demo liaison of a bottom unit,
    so that 已阅 and 报送整改措施 can be tried in the console; the hint to do so."""
    from bot.console import resolve_identity
    from scoring.rectification import NoticeError

    rectification = services.rectification
    month = rectification.default_month()
    quiet = logging.getLogger("scoring.rectification")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # "no liaison bound" is the demo's starting point, not news
    try:
        report = rectification.run_month(month, source="demo")
    except NoticeError:
        return None
    finally:
        quiet.setLevel(level)
    if not report.notices:
        return None
    unit = report.notices[0].unit_code
    resolve_identity(services, f"liaison:{unit}")
    return (
        f"已发布{month.label}示例整改通报（末位单位 {len(report.notices)} 个），"
        f"并绑定 {unit} 的示例绩效联络员。体验答复：kpibot chat --as liaison:{unit}，"
        "再输入 /notice"
    )


app.command(
    "ask",
    cls=ChineseCommand,
    help="查询指标含义：打印指标卡、候选项或“未覆盖”提示；无参数时逐行读取标准输入",
)(questions.ask_command)
app.add_typer(rulebook.app, name="rulebook")
app.add_typer(database.app, name="db")
app.add_typer(questions.report_app, name="report")
app.add_typer(users.app, name="users")
app.add_typer(learning.questions_app, name="questions")
app.add_typer(learning.synonyms_app, name="synonyms")
app.command(
    "run",
    cls=ChineseCommand,
    help="运行已配置的渠道：Telegram、企业微信（同一进程、同一 HTTP 服务）",
)(telegram_bot.run_command)
app.add_typer(scoring.units_app, name="units")
app.add_typer(scoring.ledger_app, name="ledger")
app.add_typer(scoring.reviews_app, name="reviews")
app.command("rank", cls=ChineseCommand, help="按月、季、半年或年度在各分组内排名")(
    scoring.rank_command
)
app.command(
    "score", cls=ChineseCommand, help="查看单位得分明细：各指标、背后的台账记录、名次与差距"
)(scoring.score_command)
app.command("remind", cls=ChineseCommand, help="发布某月整改通报给末位单位的绩效联络员")(
    notices_cli.remind_command
)
app.add_typer(notices_cli.app, name="notices")


def run() -> None:
    """Console-script entry point: a fault of the database or the disk ends the command with
    one Chinese sentence on stderr and a non-zero exit; its details go to the log only."""
    try:
        app()
    except Exception as exc:
        from bot.core.faults import fault_sentence

        sentence = fault_sentence(exc)
        if sentence is None:
            raise
        logger.info("command stopped by a fault: %s", sentence, exc_info=exc)
        sys.stderr.write(sentence + "\n")
        raise SystemExit(FAULT_EXIT_CODE) from None


def main() -> None:
    """The ``kpibot`` console script and ``python -m bot``: :func:`run` in a process of its own,
    with the garbage collector paused while it starts and out of the way when it exits
    (:mod:`bot.cli.collector`)."""
    collector.pause_for_start_up()
    try:
        run()
    finally:
        collector.release_at_exit()
