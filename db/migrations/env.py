"""Alembic environment: runs on the engine handed over by :mod:`db.schema`."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Engine

import db.models  # noqa: F401 - registers the tables on the metadata
from db.models import metadata

config = context.config
engine: Engine | None = config.attributes.get("engine")
if engine is None:
    from bot.settings import load_settings
    from db.session import make_engine

    engine = make_engine(load_settings().database_url)

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata(),
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
