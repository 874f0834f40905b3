"""What proves a planned action was done, and what changed during a session — read from the audit
trail (the user's events since the session started), so no job needs to know about sessions.

Pure: the caller brings the events and a way to ask whether a go/no-go card is still pending.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from remedy.commands.model import KEY_RE

if TYPE_CHECKING:  # plan.py reads EVIDENCE to plan only what can be checked off
    from remedy.sessions.plan import Item

# Command name → the audit actions its job appends on success. Only these commands are planned:
# a read-only command (compliance, exceptions…) leaves no trace, so it could never be checked off.
# A drafted comment counts once it is posted (the draft alone changes nothing for anyone else).
EVIDENCE: dict[str, tuple[str, ...]] = {
    "move": ("jira.move",),
    "comment": ("jira.comment",),
    "draft comment": ("jira.comment",),
    "post comment": ("jira.comment",),
    "assign": ("jira.assign",),
    "priority": ("jira.priority",),
    "add blocker": ("jira.link",),
    "watch": ("jira.watch",),
    "create jamf policy": ("jamf.policy",),
    "deploy pilot": ("jamf.deploy",),
    "rollout next": ("rollout.card",),
    "validate rollback": ("jamf.rollback.validate",),
    "audit report": ("jira.attachment",),
}
# Events that are bookkeeping, not a change anyone needs to hear about.
QUIET = frozenset({"ticket.work", "auth.refused", "command.refused", "rollout.refused", "rollout.stale",
                   "rollout.recheck", "job.retry", "session.start", "session.complete", "session.update",
                   "read.compliance", "read.exceptions", "read.rollback_status", "read.compliance_gaps"})


@dataclass(frozen=True)
class Event:
    seq: int
    action: str
    target: str | None
    data: dict[str, Any]


def check_off(items: Sequence[Item], events: Sequence[Event], decided: Callable[[int], bool]) -> list[Item]:
    """Items with ``done`` set where the trail shows them done. Each event checks at most one item
    (the first open one of the same command and ticket), and a checked item stays checked."""
    used = {item.by for item in items if item.by is not None}
    out: list[Item] = []
    for item in items:
        if item.done:
            out.append(item)
        elif item.kind == "decision":
            out.append(replace(item, done=item.decision is not None and decided(item.decision)))
        else:
            wanted = EVIDENCE.get(item.name, ())
            found = next((e for e in events if e.seq not in used and e.target == item.key and e.action in wanted),
                         None)
            if found is not None:
                used.add(found.seq)
            out.append(replace(item, done=True, by=found.seq) if found is not None else item)
    return out


def _words(e: Event) -> str:
    d = e.data
    said: dict[str, Callable[[], str]] = {
        "jira.move": lambda: f"moved {d.get('start', '?')} → {d.get('to', '?')}",
        "jira.comment": lambda: "commented in Jira",
        "jira.assign": lambda: f"assigned to {d.get('name', 'someone')}",
        "jira.priority": lambda: f"priority set to {d.get('priority', '?')}",
        "jira.link": lambda: f"recorded that {d.get('blocker', 'another ticket')} blocks it",
        "jira.watch": lambda: "watchers added",
        "jira.attachment": lambda: "audit report attached",
        "jamf.policy": lambda: f"Jamf policy {d.get('policy_id', '?')} {'created' if d.get('created') else 'updated'}",
        "jamf.deploy": lambda: f"deployed to the {d.get('ring', 'pilot')} ring",
        "rollout.card": lambda: "go/no-go requested for the next ring",
        "jamf.rollout.go": lambda: f"Go for the {d.get('ring', 'next')} ring",
        "rollout.no-go": lambda: f"No-go for the {d.get('ring', 'next')} ring: {d.get('reason', 'no reason given')}",
        "rollout.hold": lambda: f"rollout held before the {d.get('ring', 'next')} ring",
        "jamf.rollback.validate": lambda: "rollback validated" if d.get("ok") else "rollback checked: problems found",
    }
    return said[e.action]() if e.action in said else e.action


def changes(events: Sequence[Event]) -> dict[str, list[str]]:
    """What the user changed per ticket, in the order it happened (repeats said once)."""
    out: dict[str, list[str]] = {}
    for e in events:
        if e.action in QUIET or not e.target or not KEY_RE.fullmatch(e.target):
            continue
        said = out.setdefault(e.target, [])
        words = _words(e)
        if words not in said:
            said.append(words)
    return out
