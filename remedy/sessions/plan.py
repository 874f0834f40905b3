"""Planning a work session: pending go/no-go decisions first (for leads), then the user's tickets
in priority order, each with its phase's next steps, fitted greedily into the time box.

Pure and deterministic: the same tickets, records and time box give the same plan. Every planned
action is a command a button can run (``parse_button(command, key)``) and whose job leaves an audit
event, so the plan can be checked off from the audit trail (:mod:`remedy.sessions.evidence`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from remedy.commands import Help, Role, parse_button
from remedy.remediation.store import RemediationView
from remedy.sessions.evidence import EVIDENCE
from remedy.workflow.template import Phase

# Minutes of focused work per action: rough team averages, used only to fit the time box. A decision
# is reading a card; a draft is reading the ticket, editing and posting; a rollout step includes
# checking what Jamf did. Unknown commands take DEFAULT_MINUTES. Tune here.
ESTIMATES: dict[str, int] = {
    "decide": 5, "move": 5, "comment": 5, "post comment": 3, "assign": 3, "priority": 3, "add blocker": 3,
    "watch": 2, "draft comment": 10, "create jamf policy": 10, "deploy pilot": 10, "rollout next": 10,
    "validate rollback": 10, "audit report": 5,
}  # fmt: skip
DEFAULT_MINUTES = 10

# The rollout commands build on each other. A suggested one is preceded by the steps it needs that
# remedy's records show not done yet, and dropped when it is done or a card waits on a lead.
ROLLOUT_CHAIN: tuple[str, ...] = ("create jamf policy", "deploy pilot", "rollout next")

Namer = Callable[[str, str], str | None]  # (command, ticket) → the command's name, None: don't plan it


@dataclass(frozen=True)
class Item:
    key: str  # the ticket
    kind: str  # "command" | "decision"
    command: str  # what its button runs about `key` ("" for a decision: the card has its buttons)
    name: str  # the command's name ("decide" for a decision): what checks it off
    label: str
    minutes: int
    summary: str = ""  # the ticket's summary, for cards and updates
    decision: int | None = None
    done: bool = False
    by: int | None = None  # the audit event that checked it off

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Item:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class Ticket:
    key: str
    summary: str
    phase: Phase | None
    stage: int  # the first ROLLOUT_CHAIN step not done yet; len(ROLLOUT_CHAIN): none to do now


@dataclass(frozen=True)
class Approval:
    decision: int
    key: str
    to_label: str


@dataclass(frozen=True)
class Plan:
    items: list[Item]
    skipped: list[Item]  # what did not fit, in the order it would have come


def rollout_stage(known: RemediationView | None, waiting: bool) -> int:
    """Where the ticket is in ROLLOUT_CHAIN; ``waiting``: a go/no-go card is pending already."""
    if known is None or known.policy is None or not known.rings:
        return 0
    active = known.active
    if active is None:
        return 1 if all(r.status == "pending" for r in known.rings) else len(ROLLOUT_CHAIN)
    if waiting or known.next_after(active) is None:
        return len(ROLLOUT_CHAIN)
    return 2


def _label(command: str) -> str:
    return command[:1].upper() + command[1:]


def steps(ticket: Ticket) -> list[tuple[str, str, bool]]:
    """(label, command, specific) in the phase's order: its analysis steps (specific), then its
    suggestions, with the rollout chain applied."""
    if ticket.phase is None:
        return []
    raw = [(s.label, s.command, True) for s in ticket.phase.analysis]
    raw += [(_label(c), c, False) for c in ticket.phase.suggest]
    out: list[tuple[str, str, bool]] = []
    stage = ticket.stage
    for label, command, specific in raw:
        if command not in ROLLOUT_CHAIN:
            out.append((label, command, specific))
            continue
        at = ROLLOUT_CHAIN.index(command)
        if at < stage:
            continue
        out += [(_label(c), c, True) for c in ROLLOUT_CHAIN[stage:at]]
        out.append((label, command, True))
        stage = at + 1
    return out


def candidates(ticket: Ticket, namer: Namer) -> list[Item]:
    """The ticket's plannable steps. A general suggestion (`draft comment`) adds nothing after a
    specific step of the same command (`draft comment about rollback scenarios`), so it is left out."""
    items: list[Item] = []
    for label, command, specific in steps(ticket):
        name = namer(command, ticket.key)
        if name is None or any(i.command == command for i in items):
            continue
        if not specific and any(i.name == name for i in items):
            continue
        items.append(Item(ticket.key, "command", command, name, label, ESTIMATES.get(name, DEFAULT_MINUTES),
                          ticket.summary))
    return items


def fit(wanted: Sequence[Item], minutes: int) -> Plan:
    """Greedy in order: an action that doesn't fit is skipped, and so are its ticket's later steps
    (they build on it); a shorter action of another ticket may still fit after it."""
    items: list[Item] = []
    skipped: list[Item] = []
    left, cut = minutes, set[str]()
    for item in wanted:
        if (item.kind == "command" and item.key in cut) or item.minutes > left:
            skipped.append(item)
            if item.kind == "command":
                cut.add(item.key)
            continue
        items.append(item)
        left -= item.minutes
    return Plan(items, skipped)


def build(tickets: Sequence[Ticket], approvals: Sequence[Approval], minutes: int, namer: Namer) -> Plan:
    """``tickets`` in priority order (rank_issues); ``approvals`` oldest first."""
    wanted = [Item(a.key, "decision", "", "decide", f"Decide go/no-go on {a.key} → {a.to_label}",
                   ESTIMATES["decide"], decision=a.decision) for a in approvals]
    for ticket in tickets:
        wanted += candidates(ticket, namer)
    return fit(wanted, minutes)


def namer_for(role: Role, needed: Callable[[str, Role], Role] = lambda _, default: default) -> Namer:
    """Plan a command only if it parses about the ticket, has a job in this version, leaves an audit
    event to check it off by, and the user's role may run it (``needed``: roles.yml's say, if stricter)."""
    def name(command: str, key: str) -> str | None:
        parsed = parse_button(command, key)
        if isinstance(parsed, Help) or parsed.job() is None or parsed.name not in EVIDENCE:
            return None
        return parsed.name if role >= needed(parsed.name, parsed.needs()) else None

    return name
