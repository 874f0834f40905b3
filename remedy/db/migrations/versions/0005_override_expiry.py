"""priority overrides may expire

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("priority_override") as batch:
        batch.add_column(sa.Column("expires_at", TS, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("priority_override") as batch:
        batch.drop_column("expires_at")
