"""package validations (`validate package`), read by the Build & Test → Pilot exit check

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "package_validation",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ticket_key", sa.String(32), nullable=False),
        sa.Column("package_id", sa.Integer, nullable=True),
        sa.Column("package_name", sa.String(255), nullable=False),
        sa.Column("hash_value", sa.String(128), nullable=True),
        sa.Column("passed", sa.Boolean, nullable=False),
        sa.Column("failed", sa.JSON, nullable=False),
        sa.Column("checks", sa.JSON, nullable=False),
        sa.Column("actor", sa.String(32), nullable=False),
        sa.Column("job_id", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_package_validation_ticket_key", "package_validation", ["ticket_key"])


def downgrade() -> None:
    op.drop_table("package_validation")
