"""Shared fixtures: a clean, migrated database (SQLite by default, PostgreSQL when asked)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

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


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """A URL to an empty database: ``KPIBOT_TEST_DATABASE_URL`` (reset) or a new SQLite file."""
    url = os.environ.get("KPIBOT_TEST_DATABASE_URL")
    if url:
        _reset_postgres(url)
        return url
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
