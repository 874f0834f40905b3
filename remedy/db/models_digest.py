"""What the scheduled digests and the morning DMs remember: each channel's schedule, each user's
opt-in, and one run row per channel (or user) and local date.

The run row is the idempotency key of a digest: it is inserted (a conditional insert, unique on
channel + local date) before anything is posted, so two cron processes or a retried job post a
channel's digest at most once a day; it keeps the posted message's ts, so a run that was claimed but
never finished is found and completed rather than lost.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from remedy.db.models import Base, utcnow


class DigestSchedule(Base):
    """`digest here HH:MM <tz> [weekdays|daily]`: one schedule per channel (set again = replaced)."""

    __tablename__ = "digest_schedule"

    channel_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    local_time: Mapped[str] = mapped_column(String(5))  # "HH:MM" in ``timezone``
    timezone: Mapped[str] = mapped_column(String(64))  # IANA key
    weekdays_only: Mapped[bool] = mapped_column(Boolean)
    set_by: Mapped[str] = mapped_column(String(32))  # Slack user id
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DigestRun(Base):
    """One channel's digest of one local day: claimed, then posted (``message_ts``), then done."""

    __tablename__ = "digest_run"
    __table_args__ = (UniqueConstraint("channel_id", "local_date", name="uq_digest_run_channel_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel_id: Mapped[str] = mapped_column(String(32))
    local_date: Mapped[date] = mapped_column(Date)
    scheduled_for: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # the local HH:MM, as UTC
    late: Mapped[bool] = mapped_column(Boolean)
    job_id: Mapped[str] = mapped_column(String(64))  # the job holding the claim
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    message_ts: Mapped[str | None] = mapped_column(String(32))  # the digest message, once posted
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # thread replies posted too


class MorningOptIn(Base):
    """`morning on HH:MM`: a weekday DM at the user's own local time (their Slack timezone)."""

    __tablename__ = "morning_opt_in"

    slack_user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    local_time: Mapped[str] = mapped_column(String(5))
    timezone: Mapped[str] = mapped_column(String(64))  # from users.info ``tz`` when the user opted in
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MorningRun(Base):
    """One user's morning DM of one local day (same claim → post → done life as a digest run)."""

    __tablename__ = "morning_run"
    __table_args__ = (UniqueConstraint("slack_user_id", "local_date", name="uq_morning_run_user_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    slack_user_id: Mapped[str] = mapped_column(String(32))
    local_date: Mapped[date] = mapped_column(Date)
    scheduled_for: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    late: Mapped[bool] = mapped_column(Boolean)
    job_id: Mapped[str] = mapped_column(String(64))
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
