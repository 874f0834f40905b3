"""discussions scheduled about tickets (`schedule discussion`)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "discussion",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ticket_key", sa.String(32), nullable=False),
        sa.Column("uid", sa.String(200), nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("ends_at", TS, nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("organizer", sa.String(32), nullable=False),
        sa.Column("people", sa.Text, nullable=False),
        sa.Column("job_id", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_discussion_ticket_key", "discussion", ["ticket_key"])
    op.create_index("ix_discussion_uid", "discussion", ["uid"])


def downgrade() -> None:
    op.drop_table("discussion")
