"""The database tables. Points are stored as integer hundredths (分 × 100): exact everywhere.

Layering follows SQLModel's Base → table pattern only where a shape is shared; these are
the persisted rows, not API payloads.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Text
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class RulebookVersion(SQLModel, table=True):
    """One import of a rulebook file, kept whole so every past version stays explainable."""

    __tablename__ = "rulebook_version"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    year: int | None = None
    source: str = Field(max_length=255)
    sha256: str = Field(max_length=64)
    document: str = Field(sa_column=Column(Text, nullable=False))
    imported_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    imported_by: str = Field(max_length=100)
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    retired: int = 0


class IndicatorRecord(SQLModel, table=True):
    """The current text of an indicator; retired ones stay, flagged inactive."""

    __tablename__ = "indicator"

    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=100)
    type: str = Field(max_length=8)
    category: str = Field(default="", max_length=100)
    points_cents: int = Field(sa_column=Column(BigInteger, nullable=False))
    cap_cents: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    owner: str = Field(default="", max_length=100)
    cycle: str | None = Field(default=None, max_length=4)
    standard: str = Field(default="", sa_column=Column(Text, nullable=False))
    aliases: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    interpretations: list[dict[str, str]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    faq: list[dict[str, str]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    position: int = 0
    active: bool = True
    version_id: int = Field(foreign_key="rulebook_version.id")
    retired_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class QuestionLog(SQLModel, table=True):
    """A question the matcher could not answer confidently (clarify or none)."""

    __tablename__ = "question_log"

    id: int | None = Field(default=None, primary_key=True)
    asked_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False, index=True)
    )
    question: str = Field(sa_column=Column(Text, nullable=False))
    normalized: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(max_length=8, index=True)
    candidates: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    channel: str = Field(default="cli", max_length=16)


def metadata() -> Any:
    """The metadata Alembic compares migrations against."""
    return SQLModel.metadata
