"""remediation facts per ticket, compliance snapshots

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "remediation",
        sa.Column("ticket_key", sa.String(32), primary_key=True),
        sa.Column("app_name", sa.String(200), nullable=False),
        sa.Column("bundle_id", sa.String(200), nullable=False),
        sa.Column("target_version", sa.String(64), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "compliance_snapshot",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ticket_key", sa.String(32), nullable=False),
        sa.Column("taken_at", TS, nullable=False),
        sa.Column("compliant", sa.Integer, nullable=False),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("target_version", sa.String(64), nullable=False),
    )
    op.create_index("ix_compliance_snapshot_ticket_key", "compliance_snapshot", ["ticket_key"])


def downgrade() -> None:
    op.drop_table("compliance_snapshot")
    op.drop_table("remediation")
