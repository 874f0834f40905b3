"""Go/no-go decisions: one row per card, decided by whoever claims it first.

The claim is a single conditional UPDATE (``pending`` → ``deciding``), so of two approvers pressing
at the same moment — in two workers, on two databases' worth of isolation levels — exactly one
row update succeeds. The winning job's id is stored with the claim, so its own retries carry on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from remedy.db.models import RolloutDecision
from remedy.db.session import Database
from remedy.remediation.store import aware

FINAL = ("go", "no-go", "hold", "stale", "replaced")


@dataclass(frozen=True)
class DecisionView:
    id: int
    ticket_key: str
    from_ring: str
    to_ring: str
    status: str
    numbers: dict[str, Any]
    channel_id: str | None
    message_ts: str | None
    requested_by: str
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None
    created_at: datetime
    job_id: str | None


def _view(row: RolloutDecision) -> DecisionView:
    created = aware(row.created_at)
    assert created is not None
    return DecisionView(row.id, row.ticket_key, row.from_ring, row.to_ring, row.status, dict(row.numbers),
                        row.channel_id, row.message_ts, row.requested_by, row.decided_by, aware(row.decided_at),
                        row.reason, created, row.job_id)


def create(db: Database, key: str, from_ring: str, to_ring: str, numbers: dict[str, Any], requested_by: str,
           now: datetime) -> int:
    with db.session() as s:
        row = RolloutDecision(ticket_key=key, from_ring=from_ring, to_ring=to_ring, status="pending",
                              numbers=numbers, requested_by=requested_by, created_at=now)
        s.add(row)
        s.flush()
        return row.id


def pending_for(db: Database, key: str, exclude: int | None = None) -> list[DecisionView]:
    with db.session() as s:
        rows = s.scalars(select(RolloutDecision).where(RolloutDecision.ticket_key == key,
                                                       RolloutDecision.status == "pending"))
        return [_view(r) for r in rows if r.id != exclude]


def get(db: Database, decision_id: int) -> DecisionView | None:
    with db.session() as s:
        row = s.get(RolloutDecision, decision_id)
        return _view(row) if row is not None else None


def set_message(db: Database, decision_id: int, channel: str, ts: str) -> None:
    with db.session() as s:
        s.execute(update(RolloutDecision).where(RolloutDecision.id == decision_id)
                  .values(channel_id=channel, message_ts=ts))


def claim(db: Database, decision_id: int, user: str, job_id: str, now: datetime) -> bool:
    """True for the first press (or a retry of the job that made it); False for everyone after."""
    with db.session() as s:
        won = s.execute(update(RolloutDecision).where(
            RolloutDecision.id == decision_id,
            (RolloutDecision.status == "pending")
            | ((RolloutDecision.status == "deciding") & (RolloutDecision.job_id == job_id)),
        ).values(status="deciding", decided_by=user, decided_at=now, job_id=job_id))
        if won.rowcount:  # type: ignore[attr-defined]
            return True
        # A rerun of the job that already recorded its decision (it died before the card edit, the audit
        # event and the notices): it still owes those, and every step of a decision is idempotent.
        return s.scalar(select(RolloutDecision.id).where(RolloutDecision.id == decision_id,
                                                         RolloutDecision.job_id == job_id)) is not None


def finish(db: Database, decision_id: int, status: str, reason: str | None = None) -> None:
    assert status in FINAL
    with db.session() as s:
        values: dict[str, Any] = {"status": status}
        if reason is not None:
            values["reason"] = reason
        s.execute(update(RolloutDecision).where(RolloutDecision.id == decision_id).values(**values))


def supersede(db: Database, decision_id: int) -> bool:
    """A newer card replaces a pending one; False if someone decided it meanwhile."""
    with db.session() as s:
        done = s.execute(update(RolloutDecision).where(RolloutDecision.id == decision_id,
                                                       RolloutDecision.status == "pending")
                         .values(status="replaced"))
        return bool(done.rowcount)  # type: ignore[attr-defined]


def for_ticket(db: Database, key: str) -> list[DecisionView]:
    """Every card of a ticket, oldest first (the audit report lists them all)."""
    with db.session() as s:
        rows = s.scalars(select(RolloutDecision).where(RolloutDecision.ticket_key == key)
                         .order_by(RolloutDecision.id))
        return [_view(r) for r in rows]
