"""learned phrasings, office synonyms, question feedback

Revision ID: 0010
Revises: 0005
Create Date: 2026-12-02 00:43:24.517998
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "learned_phrasing",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("indicator_code", sa.String(length=32), nullable=False),
        sa.Column("question", sa.String(length=500), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("learned_by", sa.String(length=100), nullable=False),
        sa.Column("learned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("question_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["question_log.id"],
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["rulebook_version.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("indicator_code", "question", name="uq_learned_phrasing_code_question"),
    )
    with op.batch_alter_table("learned_phrasing", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_learned_phrasing_indicator_code"), ["indicator_code"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_learned_phrasing_question_id"), ["question_id"], unique=False
        )

    op.create_table(
        "office_synonym",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("word", sa.String(length=50), nullable=False),
        sa.Column("term", sa.String(length=100), nullable=False),
        sa.Column("added_by", sa.String(length=100), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["rulebook_version.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("word", "term", name="uq_office_synonym_word_term"),
    )
    op.create_table(
        "question_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("voter", sa.String(length=100), nullable=False),
        sa.Column("indicator_code", sa.String(length=32), nullable=False),
        sa.Column("useful", sa.Boolean(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["question_log.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("question_id", "voter", name="uq_question_feedback_question_voter"),
    )
    with op.batch_alter_table("question_feedback", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_question_feedback_indicator_code"), ["indicator_code"], unique=False
        )

    with op.batch_alter_table("question_log", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("asked_by", sa.String(length=100), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("indicator_code", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("resolved_code", sa.String(length=32), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_question_log_indicator_code"), ["indicator_code"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_question_log_resolved_code"), ["resolved_code"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("question_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_question_log_resolved_code"))
        batch_op.drop_index(batch_op.f("ix_question_log_indicator_code"))
        batch_op.drop_column("resolved_code")
        batch_op.drop_column("indicator_code")
        batch_op.drop_column("asked_by")

    with op.batch_alter_table("question_feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_question_feedback_indicator_code"))

    op.drop_table("question_feedback")
    op.drop_table("office_synonym")
    with op.batch_alter_table("learned_phrasing", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_learned_phrasing_question_id"))
        batch_op.drop_index(batch_op.f("ix_learned_phrasing_indicator_code"))

    op.drop_table("learned_phrasing")
