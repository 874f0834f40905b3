"""What a daily update needs from remedy's records: since when the ticket is in its phase, and what
the previous updates said.

Each posted update keeps its facts in its `daily.update` audit event (hash-chained, append-only),
so "since the last update" compares with exactly what that update stated, with no table of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from remedy.db.models import AuditEvent, Remediation, RingState, TicketMemory
from remedy.db.session import Database
from remedy.remediation.store import active_tickets, aware

ACTION = "daily.update"
# Audit actions by which remedy moved a ticket into a phase (tickets.memory.MOVES).
_MOVES = ("jira.move", "jamf.deploy", "jamf.rollout.go")
_RECENT = 20


@dataclass(frozen=True)
class PhaseStart:
    at: datetime
    source: str  # audit | memory | created
    why: str  # how the start was found, as people read it


@dataclass(frozen=True)
class StoredUpdate:
    seq: int
    job: str
    at: datetime
    facts: dict[str, Any]


def _entered(action: str, data: dict[str, Any], phase: str, pilot_phase: str) -> bool:
    if action == "jira.move":
        return data.get("to") == phase and data.get("start") != phase
    if action == "jamf.deploy":  # deploying the pilot ring moves the ticket into (or keeps it in) Pilot
        return phase == pilot_phase
    return (data.get("numbers") or {}).get("moves_to") == phase  # a Go that moved the ticket on


def phase_start(db: Database, key: str, phase: str, pilot_phase: str, created: datetime) -> PhaseStart:
    """The newest move into ``phase`` that remedy made (audit trail); else when remedy first saw the
    ticket in it (ticket memory); else the ticket's creation, a lower bound for a ticket that was moved
    in Jira before remedy looked."""
    with db.session() as s:
        rows = s.execute(select(AuditEvent.action, AuditEvent.data, AuditEvent.ts)
                         .where(AuditEvent.target == key, AuditEvent.action.in_(_MOVES))
                         .order_by(AuditEvent.seq.desc())).all()
        for action, data, ts in rows:
            if _entered(action, data or {}, phase, pilot_phase):
                what = "the pilot deploy" if action == "jamf.deploy" else f"the move into {phase}"
                return PhaseStart(aware(ts) or ts, "audit", f"{what} (audit trail)")
        memory = s.get(TicketMemory, key)
        since = aware(memory.phase_since) if memory is not None and memory.phase == phase else None
    if since is not None:
        return PhaseStart(since, "memory", f"when remedy first saw it in {phase}")
    return PhaseStart(created, "created", "the ticket's creation (no phase change on record)")


def phase_day(start: datetime, now: datetime) -> int:
    """Day 1 is the day of the move; day 2 starts 24 h later."""
    return max(1, (now - start).days + 1)


def stored_updates(db: Database, key: str) -> list[StoredUpdate]:
    """The ticket's recent updates, newest first."""
    with db.session() as s:
        rows = s.execute(select(AuditEvent.seq, AuditEvent.data, AuditEvent.ts)
                         .where(AuditEvent.target == key, AuditEvent.action == ACTION)
                         .order_by(AuditEvent.seq.desc()).limit(_RECENT)).all()
    found = []
    for seq, data, ts in rows:
        facts = (data or {}).get("facts")
        if isinstance(facts, dict):
            found.append(StoredUpdate(seq, str((data or {}).get("job", "")), aware(ts) or ts, facts))
    return found


def own_and_previous(updates: list[StoredUpdate], job_id: str) -> tuple[StoredUpdate | None, StoredUpdate | None]:
    """This job's own update if an earlier run of it got that far, and the update before it."""
    own = next((u for u in updates if u.job == job_id), None)
    previous = next((u for u in updates if u.job != job_id and (own is None or u.seq < own.seq)), None)
    return own, previous


def active_remediations(db: Database) -> list[str]:
    """The remediations a daily update is about: rollouts in progress (a ring active), and those with a
    Jamf policy whose pilot has not started yet (their next step is the deploy). A ticket remedy never
    made a policy for has no rollout to report on."""
    with db.session() as s:
        planned = set(s.scalars(select(Remediation.ticket_key).where(Remediation.policy_id.is_not(None))))
        started = set(s.scalars(select(RingState.ticket_key).where(RingState.status != "pending")))
    return sorted(set(active_tickets(db)) | (planned - started))
