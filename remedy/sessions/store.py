"""The work-session rows: at most one open session per user, closed by a conditional update.

Reads return frozen snapshots. Opening claims "the slot after the user's latest session" as a
unique Action key in the same transaction as the new row, so of two starts racing (two workers,
a double click) exactly one commits; the other finds the winner's session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from remedy.db.models import Action, AuditEvent, RolloutDecision, WorkSession
from remedy.db.session import Database
from remedy.remediation.store import aware
from remedy.sessions.evidence import Event
from remedy.sessions.plan import Item


@dataclass(frozen=True)
class SessionView:
    id: int
    user: str
    status: str  # open | completed | expired
    started_at: datetime
    ends_at: datetime
    channel_id: str | None  # the checklist message (a DM), edited in place
    message_ts: str | None
    plan: dict[str, Any]
    summary: str | None
    finished_at: datetime | None

    @property
    def items(self) -> list[Item]:
        return [Item.from_json(i) for i in self.plan.get("items", [])]

    @property
    def skipped(self) -> list[Item]:
        return [Item.from_json(i) for i in self.plan.get("skipped", [])]


def _view(row: WorkSession) -> SessionView:
    started, ends = aware(row.started_at), aware(row.ends_at)
    assert started is not None and ends is not None
    return SessionView(row.id, row.slack_user_id, row.status, started, ends, row.channel_id, row.message_ts,
                       dict(row.plan), row.summary, aware(row.finished_at))


def _mine(user: str) -> Any:
    return select(WorkSession).where(WorkSession.slack_user_id == user).order_by(WorkSession.id.desc()).limit(1)


def latest(db: Database, user: str) -> SessionView | None:
    with db.session() as s:
        row = s.scalar(_mine(user))
        return _view(row) if row is not None else None


def current(db: Database, user: str) -> SessionView | None:
    """The user's open session (only the latest can be open)."""
    found = latest(db, user)
    return found if found is not None and found.status == "open" else None


def get(db: Database, session_id: int) -> SessionView | None:
    with db.session() as s:
        row = s.get(WorkSession, session_id)
        return _view(row) if row is not None else None


def open_session(db: Database, user: str, started: datetime, ends: datetime,
                 plan: dict[str, Any]) -> tuple[SessionView, bool]:
    """(the new session, True), or (the session already open, False)."""
    try:
        with db.session() as s:
            last = s.scalar(_mine(user))
            if last is not None and last.status == "open":
                return _view(last), False
            slot = f"session-slot:{user}:{last.id if last is not None else 0}"
            s.add(Action(idempotency_key=slot, kind="session.open", target=user, status="done"))
            row = WorkSession(slack_user_id=user, status="open", started_at=started, ends_at=ends, plan=plan)
            s.add(row)
            s.flush()
            return _view(row), True
    except IntegrityError:  # another start took the slot a moment ago: its session is the open one
        found = current(db, user)
        if found is None:
            raise
        return found, False


def save_items(db: Database, session_id: int, plan: dict[str, Any]) -> None:
    """Store checked-off items; only while open, so a late refresh never overwrites a closed plan."""
    with db.session() as s:
        s.execute(update(WorkSession).where(WorkSession.id == session_id, WorkSession.status == "open")
                  .values(plan=plan))


def set_message(db: Database, session_id: int, channel: str, ts: str) -> None:
    with db.session() as s:
        s.execute(update(WorkSession).where(WorkSession.id == session_id).values(channel_id=channel, message_ts=ts))


def close(db: Database, session_id: int, status: str, now: datetime, summary: str, plan: dict[str, Any]) -> bool:
    """open → completed | expired; False when it was closed already (the other path won)."""
    assert status in ("completed", "expired")
    with db.session() as s:
        done = s.execute(update(WorkSession).where(WorkSession.id == session_id, WorkSession.status == "open")
                         .values(status=status, finished_at=now, summary=summary, plan=plan))
        return bool(done.rowcount)  # type: ignore[attr-defined]


def open_sessions(db: Database) -> list[SessionView]:
    """Every open session (one per user at most: few rows), for the expiry sweep."""
    with db.session() as s:
        return [_view(r) for r in s.scalars(select(WorkSession).where(WorkSession.status == "open"))]


def last_seq(db: Database) -> int:
    """The audit trail's last sequence number: a session counts the events after it."""
    with db.session() as s:
        return int(s.scalar(select(func.max(AuditEvent.seq))) or 0)


def events_since(db: Database, seq: int, actor: str) -> list[Event]:
    with db.session() as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.seq > seq, AuditEvent.actor == actor)
                         .order_by(AuditEvent.seq))
        return [Event(r.seq, r.action, r.target, dict(r.data or {})) for r in rows]


def pending_decision_ids(db: Database) -> list[int]:
    """Go/no-go cards waiting for a lead, oldest first."""
    with db.session() as s:
        return list(s.scalars(select(RolloutDecision.id).where(RolloutDecision.status == "pending")
                              .order_by(RolloutDecision.id)))
