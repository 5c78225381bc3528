"""``kpibot db``: schema migrations."""

from __future__ import annotations

import typer

from bot.cli.chinese import ChineseCommand, chinese_typer
from bot.cli.context import fail, services_of
from bot.cli.output import say

app = chinese_typer("数据库结构管理")


@app.command("upgrade", cls=ChineseCommand, help="把数据库结构升级到最新版本")
def upgrade_command(ctx: typer.Context) -> None:
    """Bring the database schema to the newest version."""
    from db.schema import current_revision, upgrade
    from db.session import make_engine

    engine = make_engine(services_of(ctx).settings.database_url)
    try:
        before = current_revision(engine)
        upgrade(engine)
        after = current_revision(engine)
    except Exception as exc:
        fail(f"数据库升级失败：{exc}")
    finally:
        engine.dispose()
    if before == after:
        say(f"数据库结构已是最新（{after}）。")
    else:
        say(f"数据库结构已升级：{before or '空库'} → {after}")


@app.command("current", cls=ChineseCommand, help="查看数据库结构版本及本程序所需版本")
def current_command(ctx: typer.Context) -> None:
    """Show the schema version of the database and the one this release needs."""
    from db.schema import current_revision, head_revision
    from db.session import make_engine

    engine = make_engine(services_of(ctx).settings.database_url)
    try:
        current = current_revision(engine)
    finally:
        engine.dispose()
    head = head_revision()
    state = "最新" if current == head else "需要升级"
    say(f"当前版本：{current or '空库'}；本程序需要：{head}（{state}）")
