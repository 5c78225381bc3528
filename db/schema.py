"""Schema versioning through Alembic, run from code (no alembic.ini needed)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
# Revisions are named by their number (``0005_….py`` is revision "0005"), so the newest one
# is known without loading Alembic, which costs half a second at every start.
_REVISION_FILE = re.compile(r"^(\d{4})_\w+\.py$")


class SchemaError(Exception):
    """The database schema is not the one this release expects."""


def _config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    """The newest migration this release ships."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config_for_script()).get_current_head()
    assert head is not None
    return head


def shipped_head() -> str | None:
    """The newest revision by file name (what :func:`head_revision` says, without Alembic)."""
    numbers = [
        match[1]
        for path in (MIGRATIONS / "versions").iterdir()
        if (match := _REVISION_FILE.match(path.name))
    ]
    return max(numbers, default=None)


def _stamped_revision(engine: Engine) -> str | None:
    """The revision recorded in ``alembic_version``, read with plain SQL (None if absent)."""
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    except DBAPIError:
        return None
    return rows[0][0] if len(rows) == 1 else None


def _config_for_script() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for a database Alembic has not touched."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (the newest by default)."""
    from alembic import command

    command.upgrade(_config(engine), revision)


def ensure_schema(engine: Engine) -> None:
    """Create the schema on an empty database; refuse an outdated or unknown one plainly."""
    head = shipped_head()
    if head is not None and _stamped_revision(engine) == head:
        return  # the usual case, decided without loading Alembic
    from alembic.script import ScriptDirectory

    current = current_revision(engine)
    head = head_revision()
    if current == head:
        return
    if current is None:
        tables = set(inspect(engine).get_table_names())
        if tables:
            raise SchemaError(
                f"数据库中已有其他表（{'、'.join(sorted(tables)[:5])}），但不是 kpibot 的库；"
                "请换一个空数据库或核对 --db 参数。"
            )
        upgrade(engine)
        return
    known = {
        rev.revision for rev in ScriptDirectory.from_config(_config_for_script()).walk_revisions()
    }
    if current not in known:
        raise SchemaError(
            f"数据库结构版本 {current} 比本程序新（本程序最高 {head}），请升级 kpibot 后再使用。"
        )
    raise SchemaError(
        f"数据库结构版本较旧（当前 {current}，需要 {head}）。请先备份，再运行：kpibot db upgrade"
    )
