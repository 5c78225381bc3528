"""Shared fixtures: a clean, migrated database (SQLite by default, PostgreSQL when asked)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from db.schema import upgrade
from db.session import make_engine

DATA = Path(__file__).with_name("data")
SAMPLE_RULEBOOK = (
    Path(__file__).resolve().parents[1] / "knowledge" / "rulebooks" / "tax_bureau_2026.yaml"
)


def _reset_postgres(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


def _worker_database(url: str, worker: str) -> str:
    """A database of this xdist worker's own beside ``url``, created on first use.

    Tests reset the whole schema, so two workers must never share a database.
    """
    base = make_url(url)
    own = base.set(database=f"{base.database}_{worker}")
    engine = make_engine(base.render_as_string(hide_password=False))
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": own.database}
            ).first()
            if exists is None:
                connection.execute(text(f'CREATE DATABASE "{own.database}"'))
    finally:
        engine.dispose()
    return own.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_url(worker_id: str) -> str | None:
    """``KPIBOT_TEST_DATABASE_URL``, or this worker's own database beside it under xdist."""
    url = os.environ.get("KPIBOT_TEST_DATABASE_URL")
    if not url or worker_id == "master":
        return url
    return _worker_database(url, worker_id)


@pytest.fixture
def database_url(tmp_path: Path, postgres_url: str | None) -> str:
    """A URL to an empty database: PostgreSQL (reset) when asked, else a new SQLite file."""
    if postgres_url:
        _reset_postgres(postgres_url)
        return postgres_url
    return f"sqlite:///{tmp_path / 'kpibot.db'}"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on a database migrated to the newest schema."""
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def matcher_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One prepared-matcher cache per test worker, as one deployment shares one."""
    return tmp_path_factory.mktemp("matcher-cache")


@pytest.fixture(autouse=True)
def _shared_matcher_cache(matcher_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The sample rulebook's matcher is prepared once per worker, not once per test database.
    monkeypatch.setenv("KPIBOT_MATCHER_CACHE_DIR", str(matcher_cache))
