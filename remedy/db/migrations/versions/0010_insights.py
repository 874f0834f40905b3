"""risks already posted per channel (post only new or changed ones)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "posted_risk",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("risk_id", sa.String(200), nullable=False),
        sa.Column("ticket_key", sa.String(32), nullable=False),
        sa.Column("fingerprint", sa.String(32), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("message_ts", sa.String(32), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("channel_id", "risk_id", name="uq_posted_risk_channel_risk"),
    )
    op.create_index("ix_posted_risk_ticket_key", "posted_risk", ["ticket_key"])


def downgrade() -> None:
    op.drop_table("posted_risk")
