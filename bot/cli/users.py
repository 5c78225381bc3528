"""``kpibot users``: invite codes and the list of bound bot users."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from bot.cli.context import fail, reported_errors, services_of
from db.roles import Role

app = typer.Typer(help="机器人用户与邀请码", no_args_is_help=True)


@app.command("invite", help="生成一次性邀请码（最后一行只有邀请码）")
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
        typer.echo(f"已生成{role.label}邀请码{where}，{days} 天内有效，仅可使用一次。")
        typer.echo("请让对方向机器人发送：/start 邀请码")
        typer.echo(code)


@app.command("list", help="列出已绑定的机器人用户：ID、角色、单位")
def list_command(ctx: typer.Context) -> None:
    """List bound users: channel and id, role and unit."""
    from db import users_store

    services = services_of(ctx)
    with reported_errors(), services.session() as session:
        users = users_store.list_users(session=session)
    if not users:
        typer.echo("尚无绑定用户。")
        return
    for user in users:
        typer.echo(
            f"{user.channel}:{user.external_id}\t{Role(user.role).label}\t{user.unit_code or '-'}"
        )
