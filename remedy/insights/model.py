"""A risk: what a rule found on one ticket, with its numbers, the obvious next action and a fingerprint.

The fingerprint is the rule, the ticket, the subject and only the evidence that matters (a wait's
start, a due date, a state): a risk whose other numbers move (one more day waited) keeps its
fingerprint, so it is posted once; one whose evidence changes gets a new one and is posted again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from remedy.insights.settings import SEVERITY_RANK, InsightSettings, Severity
from remedy.jamf.models import ComplianceCount
from remedy.jira.models import Issue
from remedy.remediation.store import RingView
from remedy.tickets.memory import Card


@dataclass(frozen=True)
class NextAction:
    """A button: ``command`` is what the user would type about the ticket (the button runs it)."""

    label: str
    command: str


@dataclass(frozen=True)
class Risk:
    rule: str  # sla_breached, sla_near, compliance_near, …: the settings' severity key
    ticket: str
    subject: str  # what on the ticket (the blocker, the ring, the card); "" for the ticket itself
    severity: Severity
    urgency: float  # days until it bites; negative: overdue by that many days
    headline: str  # mrkdwn, after "⚠️ *KEY* ": "vendor response overdue (3 days)"
    evidence: str  # mrkdwn: the numbers behind it
    action: NextAction | None
    numbers: dict[str, Any] = field(default_factory=dict)  # the facts, for the model and the post
    key_evidence: tuple[Any, ...] = ()
    assignee: str | None = None  # Jira accountId of the ticket's assignee

    @property
    def ident(self) -> str:
        """The same risk over time (its evidence may change): rule, ticket and subject."""
        return f"{self.rule}:{self.ticket}:{self.subject}"[:200]

    @property
    def fingerprint(self) -> str:
        raw = json.dumps([self.rule, self.ticket, self.subject, list(self.key_evidence)], default=str,
                         separators=(",", ":"))
        return hashlib.sha256(raw.encode()).hexdigest()[:32]

    @property
    def mark(self) -> str:
        return "⚠️" if self.severity == "high" else "🔸" if self.severity == "medium" else "🔹"

    def line(self) -> str:
        """'⚠️ *CPE-3301* vendor response overdue (3 days)'"""
        return f"{self.mark} *{self.ticket}* {self.headline}"


def ordered(risks: list[Risk]) -> list[Risk]:
    """Severity first, then urgency (the most overdue or nearest first), then ticket and rule: a total
    order, so the same risks list the same way however they were found."""
    return sorted(risks, key=lambda r: (SEVERITY_RANK[r.severity], r.urgency, r.ticket, r.rule, r.subject))


def plural(n: int | float, word: str) -> str:
    shown = f"{n:g}" if isinstance(n, float) else str(n)
    return f"{shown} {word}{'' if n == 1 else 's'}"


@dataclass(frozen=True)
class Rollout:
    """A remediation in rollout, measured now."""

    issue: Issue
    count: ComplianceCount
    target: float  # percent: the last ring's threshold
    started: tuple[datetime, float] | None = None  # first stored fleet measurement: (when, percent)
    next_ring: str | None = None  # label of a ring not started yet, if any


@dataclass(frozen=True)
class RingWatch:
    """A ring in the policy's scope, the ring after it, and the newest go/no-go card asked to leave it."""

    ticket: str
    ring: RingView
    next_label: str | None
    last_card_at: datetime | None


@dataclass(frozen=True)
class Inputs:
    issues: list[Issue]  # open tickets
    now: datetime
    link_times: dict[tuple[str, str], datetime] = field(default_factory=dict)  # (blocker, blocked) → made
    rollouts: list[Rollout] = field(default_factory=list)
    rings: list[RingWatch] = field(default_factory=list)
    cards: list[Card] = field(default_factory=list)  # pending go/no-go cards
    ring_labels: dict[tuple[str, str], str] = field(default_factory=dict)


def days_between(start: datetime | date, end: datetime | date) -> int:
    """Whole calendar days (UTC): 2026-11-22 14:30 → 2026-11-25 09:00 is 3 days."""
    def day(moment: datetime | date) -> date:
        return moment.astimezone(UTC).date() if isinstance(moment, datetime) else moment
    return (day(end) - day(start)).days


def sla_due(issue: Issue, settings: InsightSettings) -> tuple[date, str] | None:
    """The deadline and where it comes from: the Jira due date, else the SLA for the ticket's priority."""
    if issue.due_date is not None:
        return issue.due_date, "Jira due date"
    days = settings.sla_days(issue.priority)
    if days is None:
        return None
    return issue.created.astimezone(UTC).date() + timedelta(days=days), f"{issue.priority} SLA of {days} days"
