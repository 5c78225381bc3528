"""``kpibot users import``: binding WeCom members from a directory export."""

from __future__ import annotations

from pathlib import Path

from bot.services import Services
from bot.settings import Settings
from db import users_store
from db.roles import Role
from tests.cli_helpers import kpibot
from tests.telegram_helpers import seed


def seeded(database_url: str) -> None:
    services = Services(Settings(database_url=database_url))
    seed(services)
    services.close()


def bound(database_url: str) -> dict[str, tuple[str, str | None]]:
    services = Services(Settings(database_url=database_url))
    try:
        with services.session() as session:
            return {
                user.external_id: (user.role, user.unit_code)
                for user in users_store.list_users(session=session)
                if user.channel == "wecom"
            }
    finally:
        services.close()


def test_import_binds_updates_and_is_idempotent(database_url: str, tmp_path: Path) -> None:
    seeded(database_url)
    members = tmp_path / "通讯录.csv"
    members.write_text(
        "姓名,账号,单位,角色\n张三,ZhangSan,NB01,干部职工\n李四,lisi,NB01,绩效联络员\n"
        "王五,wangwu,,绩效办\n张三,zhangsan,NB01,staff\n",
        encoding="utf-8-sig",
    )
    run = kpibot(database_url, "users", "import", str(members))
    assert run.code == 0, run.err
    assert run.out.strip() == (
        "企业微信成员 3 名：新绑定 3 名，更新角色或单位 0 名，未变 0 名；重复行 1 行已跳过。"
    )
    assert bound(database_url) == {
        "zhangsan": (Role.STAFF.value, "NB01"),
        "lisi": (Role.LIAISON.value, "NB01"),
        "wangwu": (Role.ADMIN.value, None),
    }
    assert "张三" not in run.out

    members.write_text("账号,单位,角色\nlisi,NB01,staff\nwangwu,,admin\n", encoding="utf-8")
    again = kpibot(database_url, "users", "import", str(members))
    assert again.out.strip() == "企业微信成员 2 名：新绑定 0 名，更新角色或单位 1 名，未变 1 名。"
    assert bound(database_url)["lisi"] == (Role.STAFF.value, "NB01")


def test_a_bad_row_refuses_the_whole_file(database_url: str, tmp_path: Path) -> None:
    seeded(database_url)
    members = tmp_path / "members.csv"
    members.write_text("userid,unit,role\nok1,NB01,staff\nok2,XX99,liaison\n", encoding="utf-8")
    run = kpibot(database_url, "users", "import", str(members))
    assert run.code == 1
    assert "members.csv 第3行 字段“unit”：没有编码为 XX99 的单位" in run.err
    assert "Traceback" not in run.err
    assert bound(database_url) == {}
