"""drafts of comments, priority overrides, the status line shown on each home thread

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("slack_thread") as batch:
        batch.add_column(sa.Column("status_line", sa.Text))
    op.create_table(
        "draft",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("slack_user_id", sa.String(32), nullable=False),
        sa.Column("ticket_key", sa.String(32), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("comment_id", sa.String(64)),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_draft_slack_user_id", "draft", ["slack_user_id"])
    op.create_table(
        "priority_override",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ticket_key", sa.String(32), nullable=False),
        sa.Column("priority", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("slack_user_id", sa.String(32), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_priority_override_ticket_key", "priority_override", ["ticket_key"])


def downgrade() -> None:
    op.drop_table("priority_override")
    op.drop_table("draft")
    with op.batch_alter_table("slack_thread") as batch:
        batch.drop_column("status_line")
