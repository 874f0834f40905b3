"""Epic focus and bulk operations in the database. Every status change is a conditional update, so
of two presses (or two workers) exactly one wins."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from remedy.db.models_bulk import BulkOperation, EpicFocus
from remedy.db.session import Database

# Who may move an operation from which status: a first Confirm, a Retry after a partial run.
CLAIMABLE = {"confirm": ("pending",), "retry": ("partial",)}
FINAL = ("done", "partial", "cancelled")


@dataclass(frozen=True)
class OpView:
    id: int
    kind: str
    requested_by: str
    scope: str
    body: str | None
    keys: list[str]
    status: str
    channel_id: str | None
    message_ts: str | None
    job_id: str | None
    decided_by: str | None
    runs: int
    created_at: datetime
    results: dict[str, Any] = field(default_factory=dict)

    def failed(self) -> list[str]:
        return [k for k in self.keys if not (self.results.get(k) or {}).get("ok")]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite drops the zone


def _view(row: BulkOperation) -> OpView:
    return OpView(row.id, row.kind, row.requested_by, row.scope, row.body, list(row.keys), row.status,
                  row.channel_id, row.message_ts, row.job_id, row.decided_by, row.runs, _aware(row.created_at),
                  dict(row.results or {}))


def set_epic_focus(db: Database, user: str, epic: str, now: datetime) -> None:
    with db.session() as s:
        row = s.get(EpicFocus, user)
        if row is None:
            s.add(EpicFocus(slack_user_id=user, epic_key=epic, set_at=now))
        else:
            row.epic_key, row.set_at = epic, now


def epic_focus(db: Database, user: str) -> str | None:
    with db.session() as s:
        row = s.get(EpicFocus, user)
        return row.epic_key if row else None


def create(db: Database, kind: str, user: str, scope: str, keys: list[str], body: str | None,
           now: datetime) -> str:
    """A pending operation; returns its id as text (for :meth:`ActionLog.run_once`)."""
    with db.session() as s:
        row = BulkOperation(kind=kind, requested_by=user, scope=scope[:200], keys=keys, body=body,
                            status="pending", runs=0, results={}, created_at=now, updated_at=now)
        s.add(row)
        s.flush()
        return str(row.id)


def get(db: Database, op_id: int) -> OpView | None:
    with db.session() as s:
        row = s.get(BulkOperation, op_id)
        return _view(row) if row else None


def set_message(db: Database, op_id: int, channel: str, ts: str) -> None:
    with db.session() as s:
        s.execute(update(BulkOperation).where(BulkOperation.id == op_id).values(channel_id=channel, message_ts=ts))


def claim(db: Database, op_id: int, choice: str, user: str, job_id: str) -> bool:
    """Start a run (``confirm`` or ``retry``): True for the first press, or for an RQ retry of the job
    that made it; False for every other press."""
    with db.session() as s:
        won = s.execute(update(BulkOperation).where(
            BulkOperation.id == op_id, BulkOperation.status.in_(CLAIMABLE[choice]),
        ).values(status="running", decided_by=user, job_id=job_id, runs=BulkOperation.runs + 1))
        if won.rowcount:  # type: ignore[attr-defined]
            return True
        # An RQ retry of the job that claimed it: still running, or finished by that job, which died before
        # the card, the audit event and the ✅ (all idempotent, and nothing left to write when done).
        again = s.execute(update(BulkOperation).where(
            BulkOperation.id == op_id, BulkOperation.status.in_(("running", "done", "partial")),
            BulkOperation.job_id == job_id,
        ).values(decided_by=user))
        return bool(again.rowcount)  # type: ignore[attr-defined]


def cancel(db: Database, op_id: int, user: str) -> bool:
    with db.session() as s:
        won = s.execute(update(BulkOperation).where(BulkOperation.id == op_id, BulkOperation.status == "pending")
                        .values(status="cancelled", decided_by=user))
        return bool(won.rowcount)  # type: ignore[attr-defined]


def record(db: Database, op_id: int, outcomes: dict[str, dict[str, Any]]) -> None:
    """Merge per-ticket outcomes (a Retry overwrites only the tickets it redid)."""
    with db.session() as s:
        row = s.get(BulkOperation, op_id)
        assert row is not None
        row.results = {**(row.results or {}), **outcomes}


def finish(db: Database, op_id: int) -> OpView:
    """done when every ticket succeeded, else partial (a Retry button may claim it)."""
    with db.session() as s:
        row = s.get(BulkOperation, op_id)
        assert row is not None
        view = _view(row)
        row.status = "partial" if view.failed() else "done"
        s.flush()
        return _view(row)


def pending_of(db: Database, user: str) -> list[int]:
    with db.session() as s:
        return list(s.scalars(select(BulkOperation.id).where(BulkOperation.requested_by == user,
                                                             BulkOperation.status == "pending")))
