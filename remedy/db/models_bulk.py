"""What bulk commands remember: each user's epic focus, and each bulk write from its confirmation card
to its per-ticket results (so a second press, a retried job or a Retry button never writes twice)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from remedy.db.models import Base, utcnow


class EpicFocus(Base):
    """`focus epic KEY`: the epic whose stories a bulk command without a scope covers."""

    __tablename__ = "epic_focus"

    slack_user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    epic_key: Mapped[str] = mapped_column(String(32))
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class BulkOperation(Base):
    """One confirmed-or-not bulk write. ``status`` moves by conditional updates only, so the first press
    wins: pending → running → done | partial (→ running again on Retry), or pending → cancelled."""

    __tablename__ = "bulk_operation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # comment | close
    requested_by: Mapped[str] = mapped_column(String(32))
    scope: Mapped[str] = mapped_column(String(200))  # as the card words it
    body: Mapped[str | None] = mapped_column(Text)  # the comment template (kind "comment")
    keys: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    channel_id: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    job_id: Mapped[str | None] = mapped_column(String(64))  # the run that holds it: its RQ retries may go on
    decided_by: Mapped[str | None] = mapped_column(String(32))
    runs: Mapped[int] = mapped_column(Integer, default=0)  # 1 for the first run, +1 per Retry
    # ticket key → {"ok": bool, "error": str} from the latest run that touched it
    results: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
