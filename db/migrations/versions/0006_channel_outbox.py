"""channel-aware outbox: recipients as (channel, address); uncertain deliveries

A delivery row addresses its recipient by ``channel`` ('telegram', 'wecom', …) and an
``address`` string instead of a Telegram chat id, and keeps the channel's message reference
as text. ``status`` grows to hold ``uncertain`` (a send whose fate is unknown) and
``claimed`` (leased, not yet handed to the network).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 00:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notice_delivery", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("channel", sa.String(length=16), nullable=False, server_default="telegram")
        )
        batch_op.add_column(
            sa.Column("address", sa.String(length=128), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("message_ref", sa.String(length=64), nullable=True))
        batch_op.alter_column(
            "status", existing_type=sa.String(length=8), type_=sa.String(length=12)
        )
    delivery = sa.table(
        "notice_delivery",
        sa.column("chat_id", sa.BigInteger()),
        sa.column("address", sa.String()),
        sa.column("telegram_message_id", sa.BigInteger()),
        sa.column("message_ref", sa.String()),
    )
    op.execute(
        delivery.update().values(
            address=sa.cast(delivery.c.chat_id, sa.String()),
            message_ref=sa.cast(delivery.c.telegram_message_id, sa.String()),
        )
    )
    # Dedup keys name the channel now (``notice:7:telegram:123``), so a run repeated after
    # the upgrade finds the rows queued before it.
    keys = sa.table("notice_delivery", sa.column("id", sa.Integer()), sa.column("dedup_key"))
    connection = op.get_bind()
    for row_id, key in connection.execute(sa.select(keys.c.id, keys.c.dedup_key)).all():
        parts = str(key).split(":")
        if len(parts) >= 3:
            renamed = ":".join([*parts[:2], "telegram", *parts[2:]])
            connection.execute(
                keys.update().where(keys.c.id == row_id).values(dedup_key=renamed[:100])
            )
    with op.batch_alter_table("notice_delivery", schema=None) as batch_op:
        batch_op.drop_column("chat_id")
        batch_op.drop_column("telegram_message_id")
        batch_op.alter_column("channel", server_default=None)
        batch_op.alter_column("address", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("notice_delivery", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chat_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("telegram_message_id", sa.BigInteger(), nullable=True))
    delivery = sa.table(
        "notice_delivery",
        sa.column("chat_id", sa.BigInteger()),
        sa.column("channel", sa.String()),
        sa.column("address", sa.String()),
        sa.column("status", sa.String()),
    )
    # Only Telegram rows have a numeric chat id; other channels' rows cannot go back.
    op.execute(delivery.delete().where(delivery.c.channel != "telegram"))
    op.execute(delivery.update().values(chat_id=sa.cast(delivery.c.address, sa.BigInteger())))
    keys = sa.table("notice_delivery", sa.column("id", sa.Integer()), sa.column("dedup_key"))
    connection = op.get_bind()
    for row_id, key in connection.execute(sa.select(keys.c.id, keys.c.dedup_key)).all():
        parts = str(key).split(":")
        if len(parts) >= 4 and parts[2] == "telegram":
            connection.execute(
                keys.update()
                .where(keys.c.id == row_id)
                .values(dedup_key=":".join([*parts[:2], *parts[3:]]))
            )
    op.execute(
        delivery.update()
        .where(delivery.c.status.in_(["uncertain", "claimed"]))
        .values(status="sending")
    )
    with op.batch_alter_table("notice_delivery", schema=None) as batch_op:
        batch_op.alter_column("chat_id", existing_type=sa.BigInteger(), nullable=False)
        batch_op.drop_column("message_ref")
        batch_op.drop_column("address")
        batch_op.drop_column("channel")
        batch_op.alter_column(
            "status", existing_type=sa.String(length=12), type_=sa.String(length=8)
        )
