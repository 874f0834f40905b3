"""The facts of a daily update, computed (never generated): day N of the phase, each started ring's
success rate against its threshold, fleet compliance and its change since the previous update,
blockers opened and resolved, decisions taken, and what happens next from the ring plan.

The facts are a JSON object: the model words them (remedy.updates.wording), the `daily.update`
audit event keeps them, and the next update compares with them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from remedy.jira.models import Issue
from remedy.remediation.decisions import DecisionView
from remedy.remediation.progress import Progress
from remedy.remediation.rings import RingCount, soaked
from remedy.remediation.store import RemediationView, RingView, aware
from remedy.updates.history import PhaseStart, StoredUpdate, phase_day

CLOSED = frozenset({"done", "closed", "resolved", "won't do", "cancelled", "canceled"})
TAKEN = {"go": "Go", "no-go": "No-go", "hold": "Hold"}


def stamp(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


@dataclass(frozen=True)
class Inputs:
    issue: Issue
    phase: str
    start: PhaseStart
    known: RemediationView | None
    progress: Progress
    previous: StoredUpdate | None
    decisions: list[DecisionView]  # every card of the ticket, oldest first
    name_of: Callable[[str], str]  # Slack user id → the person's name
    suggestion: tuple[str, str] | None  # the phase's first suggested step (label, command) without a rollout
    now: datetime


def build(inp: Inputs) -> dict[str, Any]:
    p, key = inp.progress, inp.issue.key
    facts: dict[str, Any] = {
        "ticket": key, "summary": inp.issue.summary, "app": p.facts.app_name,
        "target_version": p.facts.target_version, "as_of": stamp(inp.now),
        "phase": inp.phase, "phase_day": phase_day(inp.start.at, inp.now), "phase_since": stamp(inp.start.at),
        "phase_since_from": inp.start.why,
        "compliance": {"compliant": p.fleet.compliant, "macs_with_app": p.fleet.total_with_app,
                       "percent": round(p.percent, 1), "behind": len(p.fleet.behind)},
        "rings": [_ring(c, inp.now) for c in p.started],
        **_blockers(inp.issue, inp.previous),
        **_decisions(inp),
        "next": next_step(inp),
    }
    change = _change(inp)
    if change is not None:
        facts["change"] = change
    return facts


def _ring(c: RingCount, now: datetime) -> dict[str, Any]:
    r = c.ring
    met, hours = soaked(r, now)
    return {"ring": r.name, "label": r.label, "status": r.status, "compliant": c.compliant, "with_app": c.with_app,
            "rate": round(c.success_rate, 1), "threshold": r.threshold, "meets_threshold": c.meets_threshold,
            "failures": c.failures, "waiting": c.waiting, "offline": c.offline,
            "soak_hours": round(hours, 1), "soak_needed": r.soak_hours, "soaked": met}


def _blockers(issue: Issue, previous: StoredUpdate | None) -> dict[str, Any]:
    """The "is blocked by" links now, and against the previous update which blockers opened (new, or
    reopened) and which were resolved (closed, or unlinked)."""
    now = [{"key": ln.other_key, "status": ln.other_status or "unknown",
            "open": (ln.other_status or "").lower() not in CLOSED} for ln in issue.links if "blocked by" in ln.phrase]
    open_now = [b["key"] for b in now if b["open"]]
    if previous is None:
        return {"blockers": now, "blockers_opened": [], "blockers_resolved": []}
    open_before = [b["key"] for b in previous.facts.get("blockers", []) if b.get("open")]
    return {"blockers": now, "blockers_opened": [k for k in open_now if k not in open_before],
            "blockers_resolved": [k for k in open_before if k not in open_now]}


def _decisions(inp: Inputs) -> dict[str, Any]:
    """Go / No-go / Hold decided since the previous update (by card id: two decisions in the same minute
    are both told once), or within the current phase for a first update."""
    taken = [d for d in inp.decisions if d.status in TAKEN and d.decided_at is not None]
    seen = set(inp.previous.facts.get("decision_ids", [])) if inp.previous is not None else None
    labels = {r.name: r.label for r in (inp.known.rings if inp.known else ())}
    new = []
    for d in taken:
        assert d.decided_at is not None
        if (d.id not in seen) if seen is not None else d.decided_at >= inp.start.at:
            new.append({"decision": TAKEN[d.status], "ring": labels.get(d.to_ring, d.to_ring),
                        "by": inp.name_of(d.decided_by or d.requested_by), "at": stamp(d.decided_at),
                        **({"reason": d.reason} if d.reason and d.status == "no-go" else {})})
    return {"decisions": new, "decision_ids": [d.id for d in taken]}


def _change(inp: Inputs) -> dict[str, Any] | None:
    """Fleet compliance against the previous update (same target version), else against the trend
    baseline `compliance` uses, else nothing."""
    compliant, prev = inp.progress.fleet.compliant, inp.previous
    if prev is not None and prev.facts.get("target_version") == inp.progress.facts.target_version:
        before, since, against = int(prev.facts["compliance"]["compliant"]), str(prev.facts["as_of"]), "the last update"
    elif inp.progress.previous is not None and (aware(inp.progress.previous.taken_at) or inp.now) < inp.now:
        base = inp.progress.previous  # a measurement from this very moment is no baseline
        before, since, against = base.compliant, stamp(base.taken_at), "the last measurement"
    else:
        return None
    delta = compliant - before
    return {"delta": delta, "macs": abs(delta), "since": since, "against": against}


def next_step(inp: Inputs) -> str:
    """What happens next, from the ring plan (the workflow's suggestion before a rollout exists)."""
    known, key = inp.known, inp.issue.key
    if known is None or known.policy is None or not known.rings:
        if inp.suggestion is None:
            return f"finish {inp.phase}"
        label, command = inp.suggestion
        return f"{label} (`{command}`)" if label != command else f"`{command}`"
    active = known.active
    if active is None:
        first = known.rings[0]
        if first.status == "pending":
            return f"deploy to {first.label} (`deploy pilot {key}`)"
        return "the rollout reached every ring; confirm the final compliance and verify"
    counts = {c.ring.name: c for c in inp.progress.rings}
    return _after(key, active, known.next_after(active), counts.get(active.name), inp)


def _after(key: str, active: RingView, nxt: RingView | None, ring: RingCount | None, inp: Inputs) -> str:
    rate = f"{ring.success_rate:.1f}%" if ring is not None else "not measured"
    meets = ring is not None and ring.meets_threshold
    if nxt is None:
        if meets:
            return f"{active.label} meets its ≥ {active.threshold:g}%: move to Verify (`move {key} to verify`)"
        return (f"{active.label} is at {rate}, short of ≥ {active.threshold:g}%; `exceptions {key}` lists the "
                "Macs that need a hand")
    if any(d.status == "pending" and d.to_ring == nxt.name for d in inp.decisions):
        return f"a lead's go/no-go for {nxt.label} is waiting in the thread"
    if not meets:
        return (f"{active.label} needs ≥ {active.threshold:g}% before {nxt.label} (now {rate}); `exceptions {key}` "
                "lists the Macs that need a hand")
    met, _ = soaked(active, inp.now)
    if not met and active.started_at is not None:
        until = stamp(active.started_at + timedelta(hours=active.soak_hours))
        return (f"{active.label} soaks until {until}, then expand to {nxt.label} after a lead's go "
                f"(`rollout next {key}`)")
    return f"expand to {nxt.label} after a lead's go (`rollout next {key}`)"


def _signature(f: dict[str, Any]) -> tuple[Any, ...]:
    rings = tuple((r["ring"], r["status"], r["compliant"], r["with_app"], r["failures"], r["waiting"], r["offline"])
                  for r in f.get("rings", []))
    blockers = tuple(sorted((b["key"], b["status"]) for b in f.get("blockers", [])))
    c = f["compliance"]
    return f.get("target_version"), f["phase"], c["compliant"], c["macs_with_app"], rings, blockers


def unchanged(facts: dict[str, Any], previous: StoredUpdate | None) -> bool:
    """Same phase, same numbers, same blockers and no decision since the previous update."""
    return previous is not None and not facts["decisions"] and _signature(facts) == _signature(previous.facts)


def unchanged_since(previous: StoredUpdate) -> str:
    """When things last changed: the previous update's time, or the time it carried over."""
    return str(previous.facts.get("unchanged_since") or previous.facts["as_of"])
