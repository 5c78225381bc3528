"""``kpibot users``: invite codes and the list of bound bot users."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.chinese import ChineseCommand, chinese_typer
from bot.cli.context import fail, reported_errors, services_of
from bot.cli.output import say
from db.roles import Role

MAX_DIRECTORY_BYTES = 10 * 1024 * 1024

app = chinese_typer("机器人用户与邀请码")


@app.command("invite", cls=ChineseCommand, help="生成一次性邀请码（最后一行只有邀请码）")
def invite_command(
    ctx: typer.Context,
    role: Annotated[
        Role,
        typer.Option("--role", help="角色：staff（职工）、liaison（绩效联络员）或 admin（绩效办）"),
    ],
    unit: Annotated[
        str | None, typer.Option("--unit", help="单位编码（staff/liaison 必填）")
    ] = None,
    days: Annotated[int, typer.Option("--days", min=1, max=90, help="有效天数")] = 7,
) -> None:
    """Make a one-time invite code; the code alone is printed on the last line."""
    from db import users_store
    from db.users_store import InviteError

    services = services_of(ctx)
    with reported_errors():
        try:
            with services.session() as session:
                code = users_store.create_invite(
                    session=session,
                    role=role,
                    unit_code=unit,
                    created_by="cli",
                    ttl=timedelta(days=days),
                )
        except InviteError as exc:
            fail(str(exc))
        where = f"，单位 {unit}" if role is not Role.ADMIN else ""
        say(f"已生成{role.label}邀请码{where}，{days} 天内有效，仅可使用一次。")
        say("请让对方向机器人发送：/start 邀请码")
        say(code)


@app.command(
    "import",
    cls=ChineseCommand,
    help="按企业微信通讯录批量绑定成员（CSV/XLSX：账号、姓名、单位、角色）",
)
def import_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="通讯录文件（CSV 或 XLSX）", show_default=False)],
) -> None:
    """Bind many WeCom members at once from a directory export (all rows or none)."""
    from bot.wecom.directory import bind_directory, read_directory
    from db import scoring_store
    from knowledge.files import read_bytes

    services = services_of(ctx)
    with reported_errors():
        data = read_bytes(file, limit=MAX_DIRECTORY_BYTES)
        with services.session() as session:
            units = [unit.code for unit in scoring_store.list_units(session=session)]
        directory = read_directory(data, file.name, units)
        with services.session() as session:
            summary = bind_directory(session=session, entries=directory.entries)
    say(
        f"企业微信成员 {len(directory.entries)} 名：新绑定 {summary.new} 名，"
        f"更新角色或单位 {summary.changed} 名，未变 {summary.unchanged} 名"
        + (f"；重复行 {directory.repeated} 行已跳过。" if directory.repeated else "。")
    )


@app.command("list", cls=ChineseCommand, help="列出已绑定的机器人用户：ID、角色、单位")
def list_command(ctx: typer.Context) -> None:
    """List bound users: channel and id, role and unit."""
    from db import users_store

    services = services_of(ctx)
    with reported_errors(), services.session() as session:
        users = users_store.list_users(session=session)
    if not users:
        say("尚无绑定用户。")
        return
    for user in users:
        say(f"{user.channel}:{user.external_id}\t{Role(user.role).label}\t{user.unit_code or '-'}")
