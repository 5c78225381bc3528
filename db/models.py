"""The database tables. Points are stored as integer hundredths (分 × 100): exact everywhere.

Layering follows SQLModel's Base → table pattern only where a shape is shared; these are
the persisted rows, not API payloads.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Date, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from db.tables import utcnow as utcnow  # one clock for every row's timestamps


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
        default_factory=utcnow,
        sa_column=Column(DateTime(timezone=True), nullable=False, index=True),
    )
    question: str = Field(sa_column=Column(Text, nullable=False))
    normalized: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(max_length=8, index=True)
    candidates: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    channel: str = Field(default="cli", max_length=16)
    # Who asked ("tg:123", "console:admin", "cli"), the indicator answered directly, and the
    # one the question turned out to be about (picked among the candidates, or attached by
    # the office); a resolved question leaves the unanswered report.
    asked_by: str = Field(default="", max_length=100)
    indicator_code: str | None = Field(default=None, max_length=32, index=True)
    resolved_code: str | None = Field(default=None, max_length=32, index=True)


class Unit(SQLModel, table=True):
    """A ranked entity (考核对象): a section, a branch, or a person; ranked within its group."""

    __tablename__ = "unit"

    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=100)
    group_name: str = Field(max_length=50, index=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class LedgerEntry(SQLModel, table=True):
    """One event in the points ledger (积分台账). Append-only: never updated or deleted.

    ``points_cents`` is a magnitude whose direction the indicator's type gives; a negative
    value is a correction. A reversal points at the entry it cancels (``reverses_id``,
    unique, so an entry is reversed at most once).
    """

    __tablename__ = "ledger_entry"
    __table_args__ = (
        # The covering index every period aggregation reads instead of the table: for each
        # unit (all, one group's, or one), a range of dates. One index, not two, keeps bulk
        # imports fast; a date-first index would only help the all-units query a little.
        Index("ix_ledger_entry_unit", "unit_code", "entry_date", "indicator_code", "points_cents"),
        UniqueConstraint("external_id", name="uq_ledger_entry_external_id"),
        UniqueConstraint("reverses_id", name="uq_ledger_entry_reverses_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    entry_date: date = Field(sa_column=Column(Date, nullable=False))
    # No foreign keys on these two codes, deliberately: every code is resolved against the
    # unit and indicator tables in the writing transaction, no code path deletes a unit or
    # an indicator (they are retired), and PostgreSQL's per-row foreign-key triggers would
    # double the time of a million-row import (measured: +11 s per million rows).
    unit_code: str = Field(max_length=32)
    indicator_code: str = Field(max_length=32)
    points_cents: int = Field(sa_column=Column(BigInteger, nullable=False))
    note: str = Field(default="", sa_column=Column(Text, nullable=False))
    source: str = Field(default="", max_length=255)
    entered_by: str = Field(max_length=100)
    external_id: str | None = Field(default=None, max_length=100)
    reverses_id: int | None = Field(default=None, foreign_key="ledger_entry.id")
    recorded_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class Review(SQLModel, table=True):
    """A year-end review score (年终评议, 0-100).

    Append-only like the ledger: a changed score is a new row, and the latest row counts.
    """

    __tablename__ = "review"
    __table_args__ = (Index("ix_review_year_unit", "year", "unit_code"),)

    id: int | None = Field(default=None, primary_key=True)
    year: int
    unit_code: str = Field(foreign_key="unit.code", max_length=32)
    score_cents: int = Field(sa_column=Column(BigInteger, nullable=False))
    source: str = Field(default="", max_length=255)
    entered_by: str = Field(max_length=100)
    recorded_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


def metadata() -> Any:
    """The metadata Alembic compares migrations against."""
    return SQLModel.metadata


class BotUser(SQLModel, table=True):
    """A user of one channel (Telegram, WeCom, the console) bound to a role and, except
    admins, a unit.

    A user is known by ``(channel, external_id)``: the channel's own id as text (a Telegram
    id's digits, a WeCom userid such as ``zhangsan``). ``telegram_id`` repeats the number for
    Telegram users, whose chat id it is (the notice outbox sends to it). No names are kept, so
    nothing personal can leak from here.
    """

    __tablename__ = "bot_user"
    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_bot_user_channel_external_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    external_id: str = Field(max_length=64)
    telegram_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, nullable=True, unique=True)
    )
    role: str = Field(max_length=8)
    unit_code: str | None = Field(default=None, foreign_key="unit.code", max_length=32)
    bound_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    invite_id: int | None = Field(default=None, foreign_key="invite.id")


class Invite(SQLModel, table=True):
    """A one-time invite code; only its SHA-256 is stored. Used at most once (``used_at``)."""

    __tablename__ = "invite"

    id: int | None = Field(default=None, primary_key=True)
    code_sha256: str = Field(max_length=64, unique=True)
    role: str = Field(max_length=8)
    unit_code: str | None = Field(default=None, foreign_key="unit.code", max_length=32)
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    used_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    used_by: str | None = Field(default=None, max_length=100)  # "channel:external id"


class AnswerFeedback(SQLModel, table=True):
    """A 👍/👎 on an indicator answer."""

    __tablename__ = "answer_feedback"

    id: int | None = Field(default=None, primary_key=True)
    telegram_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, nullable=True, index=True)
    )
    external_id: str | None = Field(default=None, max_length=64)
    indicator_code: str = Field(max_length=32, index=True)
    useful: bool
    channel: str = Field(default="telegram", max_length=16)
    given_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class NoticeRun(SQLModel, table=True):
    """One monthly run of rectification notices; the scheduler runs a month only once."""

    __tablename__ = "notice_run"

    month: str = Field(primary_key=True, max_length=7)
    started_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    source: str = Field(default="", max_length=32)
    notices: int = 0


class Notice(SQLModel, table=True):
    """A rectification notice (整改通报) to one bottom-ranked unit for one month.

    At most one per unit and month, enforced by the database. ``text`` is the rendered,
    masked HTML exactly as sent; ``content`` keeps the figures behind it.
    """

    __tablename__ = "notice"
    __table_args__ = (UniqueConstraint("unit_code", "month", name="uq_notice_unit_month"),)

    id: int | None = Field(default=None, primary_key=True)
    unit_code: str = Field(foreign_key="unit.code", max_length=32)
    month: str = Field(max_length=7, index=True)
    group_name: str = Field(max_length=50)
    score_cents: int = Field(sa_column=Column(BigInteger, nullable=False))
    rank: int
    group_size: int
    content: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    text: str = Field(sa_column=Column(Text, nullable=False))
    issued_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    deadline: date = Field(sa_column=Column(Date, nullable=False))
    recipients: int = 0  # liaisons bound when the notice was made; 0 is reported to the office
    acknowledged_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    acknowledged_by: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    measures: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    measures_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    measures_by: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    reminded_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    escalated_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class NoticeDelivery(SQLModel, table=True):
    """One message in the outbox: a notice, reminder, escalation or digest to one recipient,
    addressed on a channel (``telegram``, ``wecom`` …) by an address string.

    ``dedup_key`` is unique, so a message is enqueued once however often a run repeats.
    Status: pending → claimed (leased) → sending (handed to the network) → sent | failed |
    blocked | uncertain (the channel's answer never came: never sent again).
    """

    __tablename__ = "notice_delivery"
    __table_args__ = (
        UniqueConstraint("dedup_key", name="uq_notice_delivery_dedup_key"),
        Index("ix_notice_delivery_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    dedup_key: str = Field(max_length=100)
    kind: str = Field(max_length=12)
    notice_id: int | None = Field(default=None, foreign_key="notice.id", index=True)
    month: str = Field(max_length=7)
    channel: str = Field(default="telegram", max_length=16)
    address: str = Field(max_length=128)
    text: str = Field(sa_column=Column(Text, nullable=False))
    buttons: bool = False
    status: str = Field(default="pending", max_length=12)
    attempts: int = 0
    next_attempt_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    last_error: str | None = Field(default=None, max_length=200)
    sent_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    message_ref: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class ConversationState(SQLModel, table=True):
    """Where one user's conversation stands, so a multi-step exchange survives a restart.

    One row per ``(channel, external_id)``: the choices last offered (button payloads, so a
    number typed in a door without buttons picks one) and at most one pending step (confirm
    an ``/add``, type the measures of a notice) with its data.
    """

    __tablename__ = "conversation_state"

    channel: str = Field(primary_key=True, max_length=16)
    external_id: str = Field(primary_key=True, max_length=64)
    choices: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    pending: str | None = Field(default=None, max_length=16)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class LearnedPhrasingRecord(SQLModel, table=True):
    """A question as asked, tied to an indicator by use (a pick, a 👍) or by the office.

    Kept across rulebook versions: ``version_id`` is the version live when it was learned,
    and a re-import of any version never deletes it.
    """

    __tablename__ = "learned_phrasing"
    __table_args__ = (
        UniqueConstraint("indicator_code", "question", name="uq_learned_phrasing_code_question"),
    )

    id: int | None = Field(default=None, primary_key=True)
    indicator_code: str = Field(max_length=32, index=True)
    question: str = Field(max_length=500)
    source: str = Field(max_length=16)
    learned_by: str = Field(default="", max_length=100)
    learned_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    version_id: int | None = Field(default=None, foreign_key="rulebook_version.id")
    question_id: int | None = Field(default=None, foreign_key="question_log.id", index=True)


class OfficeSynonymRecord(SQLModel, table=True):
    """An everyday word staff type and the official term it means (排队 → 等候时长)."""

    __tablename__ = "office_synonym"
    __table_args__ = (UniqueConstraint("word", "term", name="uq_office_synonym_word_term"),)

    id: int | None = Field(default=None, primary_key=True)
    word: str = Field(max_length=50)
    term: str = Field(max_length=100)
    added_by: str = Field(default="", max_length=100)
    added_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    version_id: int | None = Field(default=None, foreign_key="rulebook_version.id")


class QuestionFeedback(SQLModel, table=True):
    """A 👍/👎 on the answer to one logged question; one row per voter, the last vote kept."""

    __tablename__ = "question_feedback"
    __table_args__ = (
        UniqueConstraint("question_id", "voter", name="uq_question_feedback_question_voter"),
    )

    id: int | None = Field(default=None, primary_key=True)
    question_id: int = Field(foreign_key="question_log.id")
    voter: str = Field(max_length=100)
    indicator_code: str = Field(max_length=32, index=True)
    useful: bool
    channel: str = Field(default="telegram", max_length=16)
    given_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class WecomCallbackSeen(SQLModel, table=True):
    """A WeCom callback already taken in, so a retried or replayed one is answered once.

    ``key`` is the message id (``msg:<MsgId>``) or, for events that have none, the sender, the
    creation time and what was clicked. Rows older than a day are pruned: WeCom retries within
    seconds, and a replay of an older callback is refused by its timestamp anyway.
    """

    __tablename__ = "wecom_callback_seen"

    key: str = Field(primary_key=True, max_length=200)
    received_at: datetime = Field(
        default_factory=utcnow,
        sa_column=Column(DateTime(timezone=True), nullable=False, index=True),
    )
