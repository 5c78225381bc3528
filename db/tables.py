"""The tables a question touches, as SQLAlchemy Core tables: no ORM, no SQLModel.

Answering a question reads the live rulebook and logs the question, in every door, and from
the command line in a process of its own. Importing SQLModel and the ORM for those few
statements costs a fresh ``kpibot ask`` about a quarter of a second, a quarter of its budget,
so :mod:`db.question_path` writes them with these Core tables instead.

:mod:`db.models` stays the definition of the schema (the migrations follow it, and nothing ever
creates these tables from here); each table here names every column of its model with the
same SQL type, nullability and primary key, and ``tests/test_startup.py`` checks that they
agree, column for column, as SQLite and PostgreSQL see them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (what every row's timestamps default to)."""
    return datetime.now(UTC)


_METADATA = MetaData()  # these tables' own; never used to create anything


def _required(name: str, kind: Any) -> Column[Any]:
    return Column(name, kind, nullable=False)


def _optional(name: str, kind: Any) -> Column[Any]:
    return Column(name, kind, nullable=True)


def _id() -> Column[Any]:
    return Column("id", Integer, primary_key=True)


def _moment(name: str, *, nullable: bool = False) -> Column[Any]:
    return Column(name, DateTime(timezone=True), nullable=nullable)


rulebook_version = Table(
    "rulebook_version",
    _METADATA,
    _id(),
    _required("title", String(200)),
    _optional("year", Integer),
    _required("source", String(255)),
    _required("sha256", String(64)),
    _required("document", Text),
    _moment("imported_at"),
    _required("imported_by", String(100)),
    _required("added", Integer),
    _required("updated", Integer),
    _required("unchanged", Integer),
    _required("retired", Integer),
)

indicator = Table(
    "indicator",
    _METADATA,
    Column("code", String(32), primary_key=True),
    _required("name", String(100)),
    _required("type", String(8)),
    _required("category", String(100)),
    _required("points_cents", BigInteger),
    _optional("cap_cents", BigInteger),
    _required("owner", String(100)),
    _optional("cycle", String(4)),
    _required("standard", Text),
    _required("aliases", JSON),
    _required("interpretations", JSON),
    _required("faq", JSON),
    _required("position", Integer),
    _required("active", Boolean),
    _required("version_id", Integer),
    _moment("retired_at", nullable=True),
    _moment("updated_at"),
)

question_log = Table(
    "question_log",
    _METADATA,
    _id(),
    _moment("asked_at"),
    _required("question", Text),
    _required("normalized", Text),
    _required("status", String(8)),
    _required("candidates", JSON),
    _required("channel", String(16)),
    _required("asked_by", String(100)),
    _optional("indicator_code", String(32)),
    _optional("resolved_code", String(32)),
)

learned_phrasing = Table(
    "learned_phrasing",
    _METADATA,
    _id(),
    _required("indicator_code", String(32)),
    _required("question", String(500)),
    _required("source", String(16)),
    _required("learned_by", String(100)),
    _moment("learned_at"),
    _optional("version_id", Integer),
    _optional("question_id", Integer),
)

office_synonym = Table(
    "office_synonym",
    _METADATA,
    _id(),
    _required("word", String(50)),
    _required("term", String(100)),
    _required("added_by", String(100)),
    _moment("added_at"),
    _optional("version_id", Integer),
)

QUESTION_PATH_TABLES = (rulebook_version, indicator, question_log, learned_phrasing, office_synonym)
