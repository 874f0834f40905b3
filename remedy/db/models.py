"""Typed SQLAlchemy 2.0 models: what remedy remembers between commands and restarts.

Every change to these tables comes with an Alembic migration in ``migrations/versions``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Float, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON}


class UserState(Base):
    """One Slack user: the ticket they focus on and when we last heard from them."""

    __tablename__ = "user_state"

    slack_user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    focus_key: Mapped[str | None] = mapped_column(String(32))
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Action(Base):
    """One side effect, keyed so that a retried job finds it instead of doing it again."""

    __tablename__ = "action"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(200))
    # pending → done | failed; a pending row that outlives its job means "maybe done": check first.
    status: Mapped[str] = mapped_column(String(16), default="pending")
    external_id: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class AuditEvent(Base):
    """Append-only, hash-chained: each row stores the previous row's hash (see remedy.audit)."""

    __tablename__ = "audit_event"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=False)
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(16))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class SlackThread(Base):
    """The home thread of a ticket in a channel: every result for that ticket is a reply to it."""

    __tablename__ = "slack_thread"
    __table_args__ = (UniqueConstraint("channel_id", "ticket_key", name="uq_slack_thread_channel_ticket"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel_id: Mapped[str] = mapped_column(String(32))
    ticket_key: Mapped[str] = mapped_column(String(32))
    ts: Mapped[str] = mapped_column(String(32))
    status_line: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Draft(Base):
    """A comment a user is preparing for a ticket; posted at most once."""

    __tablename__ = "draft"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    slack_user_id: Mapped[str] = mapped_column(String(32), index=True)
    ticket_key: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft | posted | discarded
    comment_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class PriorityOverride(Base):
    """A person overrode a ticket's priority, and why (the prioritization rules read these)."""

    __tablename__ = "priority_override"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_key: Mapped[str] = mapped_column(String(32), index=True)
    priority: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    slack_user_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # None: until someone overrides again. The latest override not yet expired is the one that counts.
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Remediation(Base):
    """What a ticket remediates on the fleet, and the Jamf objects that do it."""

    __tablename__ = "remediation"

    ticket_key: Mapped[str] = mapped_column(String(32), primary_key=True)
    app_name: Mapped[str] = mapped_column(String(200))
    bundle_id: Mapped[str] = mapped_column(String(200))
    target_version: Mapped[str] = mapped_column(String(64))
    package_id: Mapped[int | None] = mapped_column(Integer)
    package_name: Mapped[str | None] = mapped_column(String(255))
    policy_id: Mapped[int | None] = mapped_column(Integer, index=True)
    rollback_package_id: Mapped[int | None] = mapped_column(Integer)
    rollback_package_name: Mapped[str | None] = mapped_column(String(255))
    rollback_version: Mapped[str | None] = mapped_column(String(64))
    rollback_policy_id: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class ComplianceSnapshot(Base):
    """Compliance as measured at one moment: trends and "since yesterday" come from these rows."""

    __tablename__ = "compliance_snapshot"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_key: Mapped[str] = mapped_column(String(32), index=True)
    taken_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    compliant: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    target_version: Mapped[str] = mapped_column(String(64))
    ring: Mapped[str | None] = mapped_column(String(32))  # None: the whole fleet
    failures: Mapped[int | None] = mapped_column(Integer)


class RingState(Base):
    """One rollout ring of one ticket: its Jamf group and where it stands (pending → active → done)."""

    __tablename__ = "ring_state"
    __table_args__ = (UniqueConstraint("ticket_key", "name", name="uq_ring_state_ticket_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_key: Mapped[str] = mapped_column(String(32), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(64))
    group_id: Mapped[int] = mapped_column(Integer)
    group_name: Mapped[str] = mapped_column(String(255))
    threshold: Mapped[float] = mapped_column(Float)
    soak_hours: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RolloutDecision(Base):
    """A go/no-go card for the next ring. Deciding is a conditional update of ``status`` from
    ``pending``, so the first press wins however many approvers click at once."""

    __tablename__ = "rollout_decision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_key: Mapped[str] = mapped_column(String(32), index=True)
    from_ring: Mapped[str] = mapped_column(String(32))
    to_ring: Mapped[str] = mapped_column(String(32))
    # pending → deciding → go | no-go | hold | stale (re-checked and replaced by a new card)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    numbers: Mapped[dict[str, Any]] = mapped_column(JSON)  # the pre-check as shown on the card
    channel_id: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    requested_by: Mapped[str] = mapped_column(String(32))
    decided_by: Mapped[str | None] = mapped_column(String(32))
    job_id: Mapped[str | None] = mapped_column(String(64))  # the job that claimed it: its retries may go on
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RecentTicket(Base):
    """A ticket a user touched, and when: `resume` and `progress` read what changed since."""

    __tablename__ = "recent_ticket"
    __table_args__ = (UniqueConstraint("slack_user_id", "ticket_key", name="uq_recent_ticket_user_ticket"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    slack_user_id: Mapped[str] = mapped_column(String(32), index=True)
    ticket_key: Mapped[str] = mapped_column(String(32))
    touched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TicketMemory(Base):
    """What remedy last concluded about a ticket, with the facts hash it was drawn from, so an
    analysis is reused until the ticket changes."""

    __tablename__ = "ticket_memory"

    ticket_key: Mapped[str] = mapped_column(String(32), primary_key=True)
    facts_hash: Mapped[str | None] = mapped_column(String(64))
    analysis: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    analysed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    phase: Mapped[str | None] = mapped_column(String(64))
    phase_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WorkSession(Base):
    """A time-boxed work session: the planned actions (a checklist), the message showing it, and how
    it ended. At most one open session per user (enforced by the session service)."""

    __tablename__ = "work_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    slack_user_id: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | completed | expired
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    channel_id: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)  # {"items": [{key, command, label, minutes, done}]}
    summary: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Discussion(Base):
    """A discussion remedy scheduled about a ticket (`schedule discussion`): a later one that overlaps
    it is refused, and one at the same start keeps its calendar UID, so calendars update the event."""

    __tablename__ = "discussion"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_key: Mapped[str] = mapped_column(String(32), index=True)
    uid: Mapped[str] = mapped_column(String(200), index=True)  # the .ics UID: ticket and start
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # UTC
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sequence: Mapped[int] = mapped_column(Integer, default=0)  # the .ics SEQUENCE this job sent
    organizer: Mapped[str] = mapped_column(String(32))  # Slack user id
    people: Mapped[str] = mapped_column(Text)  # attendees' names, for "already scheduled with …"
    job_id: Mapped[str] = mapped_column(String(64), unique=True)  # a retried job finds its own row
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PackageValidation(Base):
    """One `validate package` run: the Jamf package checked (and the hash Jamf recorded for it then),
    whether every check passed, and each check's line. `deploy pilot` reads the ticket's latest."""

    __tablename__ = "package_validation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_key: Mapped[str] = mapped_column(String(32), index=True)
    package_id: Mapped[int | None] = mapped_column(Integer)  # None: no such package in Jamf
    package_name: Mapped[str] = mapped_column(String(255))
    hash_value: Mapped[str | None] = mapped_column(String(128))  # Jamf's record when checked
    passed: Mapped[bool] = mapped_column(Boolean)
    failed: Mapped[list[str]] = mapped_column(JSON)  # names of the failing checks
    checks: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{"name", "ok", "detail"}]
    actor: Mapped[str] = mapped_column(String(32))  # Slack user id
    job_id: Mapped[str] = mapped_column(String(64), unique=True)  # a retried job replaces its own row
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
