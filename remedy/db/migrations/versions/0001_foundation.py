"""foundation: user state, actions (idempotency), audit chain, home threads

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "user_state",
        sa.Column("slack_user_id", sa.String(32), primary_key=True),
        sa.Column("focus_key", sa.String(32)),
        sa.Column("last_seen_at", TS),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "action",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("target", sa.String(200)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("external_id", sa.String(200)),
        sa.Column("error", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "audit_event",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
                  autoincrement=False),
        sa.Column("ts", TS, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(200)),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
    )
    op.create_table(
        "slack_thread",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("ticket_key", sa.String(32), nullable=False),
        sa.Column("ts", sa.String(32), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("channel_id", "ticket_key", name="uq_slack_thread_channel_ticket"),
    )


def downgrade() -> None:
    for table in ("slack_thread", "audit_event", "action", "user_state"):
        op.drop_table(table)
