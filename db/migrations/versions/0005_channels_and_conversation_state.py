"""users of any channel (Telegram, WeCom, console) and the conversation state

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 00:55:00

``bot_user`` is keyed by a surrogate id and known by ``(channel, external_id)``; Telegram rows
keep their number in ``telegram_id``. The table is small (one row per bound person), so it is
rebuilt through Python rather than with dialect-specific ``ALTER``s of its primary key.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_USERS = sa.table(
    "bot_user",
    sa.column("telegram_id", sa.BigInteger()),
    sa.column("role", sa.String()),
    sa.column("unit_code", sa.String()),
    sa.column("bound_at", sa.DateTime(timezone=True)),
    sa.column("invite_id", sa.Integer()),
)


def _create_users() -> sa.Table:
    return op.create_table(
        "bot_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("telegram_id", sa.BigInteger(), nullable=True),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("unit_code", sa.String(length=32), nullable=True),
        sa.Column("bound_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("invite_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["invite_id"], ["invite.id"]),
        sa.ForeignKeyConstraint(["unit_code"], ["unit.code"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "external_id", name="uq_bot_user_channel_external_id"),
        sa.UniqueConstraint("telegram_id"),
    )


def upgrade() -> None:
    bind = op.get_bind()
    rows = [dict(row._mapping) for row in bind.execute(sa.select(OLD_USERS))]
    # Dropped first: on SQLite, altering ``invite`` recreates it, which a table still
    # pointing at it (with foreign keys on) would refuse.
    op.drop_table("bot_user")

    with op.batch_alter_table("invite", schema=None) as batch_op:
        batch_op.alter_column(
            "used_by",
            existing_type=sa.BigInteger(),
            type_=sa.String(length=100),
            existing_nullable=True,
            postgresql_using="'telegram:' || used_by::text",
        )
    if bind.dialect.name != "postgresql":
        op.execute(
            "UPDATE invite SET used_by = 'telegram:' || used_by "
            "WHERE used_by IS NOT NULL AND used_by NOT LIKE '%:%'"
        )

    with op.batch_alter_table("answer_feedback", schema=None) as batch_op:
        batch_op.alter_column("telegram_id", existing_type=sa.BigInteger(), nullable=True)
        batch_op.add_column(sa.Column("external_id", sa.String(length=64), nullable=True))
    op.execute("UPDATE answer_feedback SET external_id = CAST(telegram_id AS VARCHAR(64))")

    users = _create_users()
    if rows:
        op.bulk_insert(
            users,
            [
                {**row, "channel": "telegram", "external_id": str(row["telegram_id"])}
                for row in rows
            ],
        )

    op.create_table(
        "conversation_state",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.Column("pending", sa.String(length=16), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "external_id"),
    )


def downgrade() -> None:
    bind = op.get_bind()
    users = sa.table(
        "bot_user",
        sa.column("telegram_id", sa.BigInteger()),
        sa.column("role", sa.String()),
        sa.column("unit_code", sa.String()),
        sa.column("bound_at", sa.DateTime(timezone=True)),
        sa.column("invite_id", sa.Integer()),
    )
    rows = [
        dict(row._mapping)
        for row in bind.execute(sa.select(users).where(users.c.telegram_id.is_not(None)))
    ]
    op.drop_table("bot_user")
    op.drop_table("conversation_state")
    op.execute("DELETE FROM answer_feedback WHERE telegram_id IS NULL")
    with op.batch_alter_table("answer_feedback", schema=None) as batch_op:
        batch_op.drop_column("external_id")
        batch_op.alter_column("telegram_id", existing_type=sa.BigInteger(), nullable=False)
    op.execute("UPDATE invite SET used_by = NULL WHERE used_by NOT LIKE 'telegram:%'")
    op.execute("UPDATE invite SET used_by = SUBSTR(used_by, 10) WHERE used_by IS NOT NULL")
    with op.batch_alter_table("invite", schema=None) as batch_op:
        batch_op.alter_column(
            "used_by",
            existing_type=sa.String(length=100),
            type_=sa.BigInteger(),
            existing_nullable=True,
            postgresql_using="used_by::bigint",
        )
    old = op.create_table(
        "bot_user",
        sa.Column("telegram_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("unit_code", sa.String(length=32), nullable=True),
        sa.Column("bound_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("invite_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["invite_id"], ["invite.id"]),
        sa.ForeignKeyConstraint(["unit_code"], ["unit.code"]),
        sa.PrimaryKeyConstraint("telegram_id"),
    )
    if rows:
        op.bulk_insert(old, rows)
