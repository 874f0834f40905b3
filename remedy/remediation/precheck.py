"""The numbers a go/no-go card shows, and whether they changed enough to ask again.

The card keeps these numbers (JSON) with the decision, so the audit trail and the evidence
later show exactly what the approver saw.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from remedy.jira.models import Issue
from remedy.remediation.rings import FleetCounts, soaked
from remedy.remediation.store import RemediationView, RingView

_CLOSED = {"done", "closed", "resolved", "won't do", "cancelled", "canceled"}


def open_blockers(issue: Issue) -> list[str]:
    """Tickets that block this one and are not finished."""
    return [link.other_key for link in issue.links
            if "blocked by" in link.phrase and (link.other_status or "").lower() not in _CLOSED]


def precheck(known: RemediationView, active: RingView, nxt: RingView, counts: FleetCounts, issue: Issue,
             now: datetime, moves_to: str | None) -> dict[str, Any]:
    ring = counts.rings[active.position]
    met, hours = soaked(active, now)
    return {
        "ticket": known.facts.key, "target": known.facts.target_version,
        "ring": active.name, "ring_label": active.label, "group": active.group_name,
        "next": nxt.name, "next_label": nxt.label, "next_group": nxt.group_name,
        "next_members": counts.rings[nxt.position].members,
        "members": ring.members, "with_app": ring.with_app, "compliant": ring.compliant,
        "rate": round(ring.success_rate, 1), "threshold": active.threshold, "rate_ok": ring.meets_threshold,
        "failures": ring.failures, "waiting": ring.waiting, "offline": ring.offline,
        "blockers": open_blockers(issue),
        "soak_hours": round(hours, 1), "soak_needed": active.soak_hours, "soak_met": met,
        "moves_to": moves_to, "taken_at": now.isoformat(),
    }


def changed(seen: dict[str, Any], now_numbers: dict[str, Any], age: timedelta, max_age: timedelta) -> str | None:
    """Why the card can't be acted on as it stands, or None. Material: the card is too old, the ring
    fell below its threshold, or a blocker appeared since it was posted."""
    if age > max_age:
        hours, limit = age.total_seconds() / 3600, max_age.total_seconds() / 3600
        return f"the card is {hours:.1f} h old (cards are re-checked after {limit:g} h)"
    if seen["rate_ok"] and not now_numbers["rate_ok"]:
        return (f"{seen['ring_label']} dropped from {seen['rate']:.1f}% to {now_numbers['rate']:.1f}%, "
                f"below its {now_numbers['threshold']:g}% threshold")
    new_blockers = sorted(set(now_numbers["blockers"]) - set(seen["blockers"]))
    if new_blockers:
        return f"new open blocker{'s' if len(new_blockers) > 1 else ''}: {', '.join(new_blockers)}"
    return None
