"""remediation policies and packages, rollout rings, go/no-go decisions, per-ring snapshots

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("remediation") as batch:
        batch.add_column(sa.Column("package_id", sa.Integer, nullable=True))
        batch.add_column(sa.Column("package_name", sa.String(255), nullable=True))
        batch.add_column(sa.Column("policy_id", sa.Integer, nullable=True))
        batch.add_column(sa.Column("rollback_package_id", sa.Integer, nullable=True))
        batch.add_column(sa.Column("rollback_package_name", sa.String(255), nullable=True))
        batch.add_column(sa.Column("rollback_version", sa.String(64), nullable=True))
        batch.add_column(sa.Column("rollback_policy_id", sa.Integer, nullable=True))
    op.create_index("ix_remediation_policy_id", "remediation", ["policy_id"])
    with op.batch_alter_table("compliance_snapshot") as batch:
        batch.add_column(sa.Column("ring", sa.String(32), nullable=True))
        batch.add_column(sa.Column("failures", sa.Integer, nullable=True))
    op.create_table(
        "ring_state",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ticket_key", sa.String(32), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("group_id", sa.Integer, nullable=False),
        sa.Column("group_name", sa.String(255), nullable=False),
        sa.Column("threshold", sa.Float, nullable=False),
        sa.Column("soak_hours", sa.Float, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("finished_at", TS, nullable=True),
        sa.UniqueConstraint("ticket_key", "name", name="uq_ring_state_ticket_name"),
    )
    op.create_index("ix_ring_state_ticket_key", "ring_state", ["ticket_key"])
    op.create_table(
        "rollout_decision",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ticket_key", sa.String(32), nullable=False),
        sa.Column("from_ring", sa.String(32), nullable=False),
        sa.Column("to_ring", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("numbers", sa.JSON, nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=True),
        sa.Column("message_ts", sa.String(32), nullable=True),
        sa.Column("requested_by", sa.String(32), nullable=False),
        sa.Column("decided_by", sa.String(32), nullable=True),
        sa.Column("job_id", sa.String(64), nullable=True),
        sa.Column("decided_at", TS, nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_rollout_decision_ticket_key", "rollout_decision", ["ticket_key"])


def downgrade() -> None:
    op.drop_table("rollout_decision")
    op.drop_table("ring_state")
    op.drop_index("ix_remediation_policy_id", "remediation")
    with op.batch_alter_table("compliance_snapshot") as batch:
        batch.drop_column("failures")
        batch.drop_column("ring")
    with op.batch_alter_table("remediation") as batch:
        for name in ("rollback_policy_id", "rollback_version", "rollback_package_name", "rollback_package_id",
                     "policy_id", "package_name", "package_id"):
            batch.drop_column(name)
