"""What the hourly risk post remembers: per channel and risk, the fingerprint last posted.

A risk whose fingerprint is unchanged is not posted again; a changed one is posted as an update and
its ``revision`` goes up. The revision is part of the post's idempotency key, so a retried or doubled
run posts each revision once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from remedy.db.models import Base, utcnow


class PostedRisk(Base):
    __tablename__ = "posted_risk"
    __table_args__ = (UniqueConstraint("channel_id", "risk_id", name="uq_posted_risk_channel_risk"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel_id: Mapped[str] = mapped_column(String(32))
    risk_id: Mapped[str] = mapped_column(String(200))  # rule:ticket:subject
    ticket_key: Mapped[str] = mapped_column(String(32), index=True)
    fingerprint: Mapped[str] = mapped_column(String(32))  # "" once the risk has cleared
    revision: Mapped[int] = mapped_column(Integer, default=1)
    severity: Mapped[str] = mapped_column(String(8))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    posted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
