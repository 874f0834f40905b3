"""memory (recent tickets, ticket memory) and work sessions

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "recent_ticket",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("slack_user_id", sa.String(32), nullable=False),
        sa.Column("ticket_key", sa.String(32), nullable=False),
        sa.Column("touched_at", TS, nullable=False),
        sa.UniqueConstraint("slack_user_id", "ticket_key", name="uq_recent_ticket_user_ticket"),
    )
    op.create_index("ix_recent_ticket_slack_user_id", "recent_ticket", ["slack_user_id"])
    op.create_table(
        "ticket_memory",
        sa.Column("ticket_key", sa.String(32), primary_key=True),
        sa.Column("facts_hash", sa.String(64), nullable=True),
        sa.Column("analysis", sa.JSON, nullable=True),
        sa.Column("analysed_at", TS, nullable=True),
        sa.Column("phase", sa.String(64), nullable=True),
        sa.Column("phase_since", TS, nullable=True),
    )
    op.create_table(
        "work_session",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("slack_user_id", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("ends_at", TS, nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=True),
        sa.Column("message_ts", sa.String(32), nullable=True),
        sa.Column("plan", sa.JSON, nullable=False),
        sa.Column("summary", sa.Text, nullable=True),
        sa.Column("finished_at", TS, nullable=True),
    )
    op.create_index("ix_work_session_slack_user_id", "work_session", ["slack_user_id"])


def downgrade() -> None:
    op.drop_table("work_session")
    op.drop_table("ticket_memory")
    op.drop_table("recent_ticket")
