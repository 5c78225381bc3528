"""WeCom callbacks already taken in (a MsgId is processed once, across restarts)

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-02 01:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wecom_callback_seen",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index(
        op.f("ix_wecom_callback_seen_received_at"),
        "wecom_callback_seen",
        ["received_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_wecom_callback_seen_received_at"), table_name="wecom_callback_seen")
    op.drop_table("wecom_callback_seen")
