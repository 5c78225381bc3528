"""Alembic environment: runs on the engine handed over by :mod:`db.schema`."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Engine

import db.models  # noqa: F401 - registers the tables on the metadata
from db.models import metadata

config = context.config
engine: Engine | None = config.attributes.get("engine")
if engine is None:
    # Run by the ``alembic`` tool rather than through db.schema: the URL comes from its
    # configuration or the environment. The db layer never reads the bot's settings.
    import os

    from db.session import make_engine

    url = config.get_main_option("sqlalchemy.url") or os.environ.get("KPIBOT_DATABASE_URL")
    engine = make_engine(url or "sqlite:///kpibot.db")

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata(),
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
