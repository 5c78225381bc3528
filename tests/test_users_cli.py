"""``kpibot users``: invite codes from the command line."""

from __future__ import annotations

from tests.cli_helpers import kpibot


def test_admin_invite_prints_the_code_alone_last(database_url: str) -> None:
    run = kpibot(database_url, "users", "invite", "--role", "admin")
    assert run.code == 0
    code = run.out.splitlines()[-1]
    assert len(code) == 16
    assert code.replace("-", "").replace("_", "").isalnum()


def test_staff_invite_needs_a_known_unit(database_url: str) -> None:
    run = kpibot(database_url, "users", "invite", "--role", "staff")
    assert (run.code, run.err.strip()) == (1, "干部职工的邀请码必须指定单位（--unit 单位编码）。")
    run = kpibot(database_url, "users", "invite", "--role", "liaison", "--unit", "NOPE")
    assert (run.code, run.err.strip()) == (1, "没有编码为 NOPE 的单位。")


def test_list_without_users(database_url: str) -> None:
    run = kpibot(database_url, "users", "list")
    assert (run.code, run.out) == (0, "尚无绑定用户。\n")
