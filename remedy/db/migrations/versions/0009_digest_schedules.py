"""digest schedules per channel, digest runs (idempotency: channel + local date), morning DM opt-in

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _runs(table: str, who: str, unique: str) -> None:
    op.create_table(
        table,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(who, sa.String(32), nullable=False),
        sa.Column("local_date", sa.Date, nullable=False),
        sa.Column("scheduled_for", TS, nullable=False),
        sa.Column("late", sa.Boolean, nullable=False),
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("claimed_at", TS, nullable=False),
        sa.Column("message_ts", sa.String(32), nullable=True),
        sa.Column("done_at", TS, nullable=True),
        sa.UniqueConstraint(who, "local_date", name=unique),
    )


def upgrade() -> None:
    op.create_table(
        "digest_schedule",
        sa.Column("channel_id", sa.String(32), primary_key=True),
        sa.Column("local_time", sa.String(5), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("weekdays_only", sa.Boolean, nullable=False),
        sa.Column("set_by", sa.String(32), nullable=False),
        sa.Column("set_at", TS, nullable=False),
    )
    _runs("digest_run", "channel_id", "uq_digest_run_channel_date")
    op.create_table(
        "morning_opt_in",
        sa.Column("slack_user_id", sa.String(32), primary_key=True),
        sa.Column("local_time", sa.String(5), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("set_at", TS, nullable=False),
    )
    _runs("morning_run", "slack_user_id", "uq_morning_run_user_date")


def downgrade() -> None:
    op.drop_table("morning_run")
    op.drop_table("morning_opt_in")
    op.drop_table("digest_run")
    op.drop_table("digest_schedule")
