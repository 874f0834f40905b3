"""What remedy remembers about a remediation: facts, Jamf packages and policies, ring states.

Reads return frozen snapshots (no session leaks into jobs); writes are small and idempotent,
so a retried job can run them again. Ring starts are conditional updates: two jobs racing to
start the same ring both see it started, once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from remedy.db.models import Remediation, RingState
from remedy.db.session import Database
from remedy.remediation.facts import Facts


@dataclass(frozen=True)
class RingView:
    position: int
    name: str
    label: str
    group_id: int
    group_name: str
    threshold: float
    soak_hours: float
    status: str  # pending | active | done
    started_at: datetime | None


@dataclass(frozen=True)
class PolicyIds:
    package_id: int
    package_name: str
    policy_id: int
    rollback_package_id: int | None = None
    rollback_package_name: str | None = None
    rollback_version: str | None = None
    rollback_policy_id: int | None = None


@dataclass(frozen=True)
class RemediationView:
    facts: Facts
    policy: PolicyIds | None
    rings: tuple[RingView, ...]

    @property
    def active(self) -> RingView | None:
        """The newest ring in the policy's scope (rings start in order and stay in scope)."""
        live = [r for r in self.rings if r.status == "active"]
        return live[-1] if live else None

    def next_after(self, ring: RingView) -> RingView | None:
        later = [r for r in self.rings if r.position > ring.position]
        return later[0] if later else None

    @property
    def scoped(self) -> list[RingView]:
        return [r for r in self.rings if r.status in ("active", "done")]


def aware(moment: datetime | None) -> datetime | None:
    """SQLite hands timestamps back naive; they were stored as UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def upsert_facts(s: Session, facts: Facts) -> None:
    """Within ``s``: what the ticket remediates, as its description says now."""
    row = s.get(Remediation, facts.key)
    if row is None:
        s.add(Remediation(ticket_key=facts.key, app_name=facts.app_name, bundle_id=facts.bundle_id,
                          target_version=facts.target_version))
    else:
        row.app_name, row.bundle_id, row.target_version = facts.app_name, facts.bundle_id, facts.target_version


def save_facts(db: Database, facts: Facts) -> None:
    with db.session() as s:
        upsert_facts(s, facts)


def save_policy(db: Database, facts: Facts, ids: PolicyIds) -> None:
    save_facts(db, facts)
    with db.session() as s:
        row = s.get(Remediation, facts.key)
        assert row is not None
        row.package_id, row.package_name, row.policy_id = ids.package_id, ids.package_name, ids.policy_id
        row.rollback_package_id, row.rollback_package_name = ids.rollback_package_id, ids.rollback_package_name
        row.rollback_version, row.rollback_policy_id = ids.rollback_version, ids.rollback_policy_id


def plan_rings(db: Database, key: str, planned: list[RingView]) -> None:
    """Record the ring plan; rings already started keep their group (the scope Jamf has)."""
    with db.session() as s:
        existing = {r.name: r for r in s.scalars(select(RingState).where(RingState.ticket_key == key))}
        for ring in planned:
            row = existing.get(ring.name)
            if row is None:
                s.add(RingState(ticket_key=key, position=ring.position, name=ring.name, label=ring.label,
                                group_id=ring.group_id, group_name=ring.group_name, threshold=ring.threshold,
                                soak_hours=ring.soak_hours, status="pending"))
            elif row.status == "pending":
                row.position, row.label, row.group_id, row.group_name = (ring.position, ring.label, ring.group_id,
                                                                         ring.group_name)
                row.threshold, row.soak_hours = ring.threshold, ring.soak_hours


def start_ring(db: Database, key: str, name: str, now: datetime) -> bool:
    """pending → active; False when it had already started (a retry, or another job won)."""
    with db.session() as s:
        started = s.execute(update(RingState)
                            .where(RingState.ticket_key == key, RingState.name == name, RingState.status == "pending")
                            .values(status="active", started_at=now))
        return bool(started.rowcount)  # type: ignore[attr-defined]


def finish_ring(db: Database, key: str, name: str, now: datetime) -> None:
    with db.session() as s:
        s.execute(update(RingState)
                  .where(RingState.ticket_key == key, RingState.name == name, RingState.status == "active")
                  .values(status="done", finished_at=now))


def load(db: Database, key: str) -> RemediationView | None:
    with db.session() as s:
        row = s.get(Remediation, key)
        if row is None:
            return None
        facts = Facts(row.ticket_key, row.app_name, row.bundle_id, row.target_version)
        policy = None
        if row.policy_id is not None and row.package_id is not None:
            policy = PolicyIds(row.package_id, row.package_name or "", row.policy_id, row.rollback_package_id,
                               row.rollback_package_name, row.rollback_version, row.rollback_policy_id)
        rings = s.scalars(select(RingState).where(RingState.ticket_key == key).order_by(RingState.position))
        views = tuple(RingView(r.position, r.name, r.label, r.group_id, r.group_name, r.threshold, r.soak_hours,
                               r.status, aware(r.started_at)) for r in rings)
        return RemediationView(facts, policy, views)


def ticket_for_policy(db: Database, policy_id: int) -> str | None:
    """The ticket a Jamf policy (or its rollback policy) belongs to."""
    with db.session() as s:
        return s.scalar(select(Remediation.ticket_key).where(
            (Remediation.policy_id == policy_id) | (Remediation.rollback_policy_id == policy_id)).limit(1))


def active_tickets(db: Database) -> list[str]:
    """Tickets with a ring in progress (what webhooks and digests refresh)."""
    with db.session() as s:
        return sorted(set(s.scalars(select(RingState.ticket_key).where(RingState.status == "active"))))


def tickets_for_group(db: Database, group_id: int) -> list[str]:
    """Tickets whose started rings use a Jamf group: a change in its membership moves their
    compliance. Pending rings are left out, as no policy is scoped to them yet."""
    with db.session() as s:
        return sorted(set(s.scalars(select(RingState.ticket_key).where(
            RingState.group_id == group_id, RingState.status.in_(("active", "done"))))))
