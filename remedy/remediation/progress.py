"""A remediation's compliance now — the whole fleet and, once the rollout started, each ring — with the
baselines its trends are drawn against. `compliance KEY` and `daily update KEY` both measure through
here, so the numbers a daily update states are the numbers `compliance` shows at the same moment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from remedy.db.session import Database
from remedy.jamf import JamfClient
from remedy.jamf.models import ComplianceCount
from remedy.parallel import later
from remedy.remediation import rings
from remedy.remediation.facts import Facts
from remedy.remediation.measure import (
    Measured,
    Previous,
    last_snapshot,
    measure,
    record,
    ring_line,
    summary_line,
    trend,
)
from remedy.remediation.rings import RingCount
from remedy.remediation.store import RemediationView
from remedy.slack.mrkdwn import escape


@dataclass(frozen=True)
class Progress:
    facts: Facts
    fleet: ComplianceCount
    previous: Previous | None  # the fleet's trend baseline ("since yesterday")
    taken_at: datetime
    by_ring: bool  # False before the rollout started: the fleet only
    rings: list[RingCount] = field(default_factory=list)  # every planned ring, pending ones included
    before: dict[str, Previous | None] = field(default_factory=dict)  # ring name → its baseline

    @property
    def percent(self) -> float:
        return 100.0 * self.fleet.ratio

    @property
    def failures(self) -> int:
        return sum(r.failures for r in self.rings)

    @property
    def started(self) -> list[RingCount]:
        return [c for c in self.rings if c.ring.status != "pending"]


def measure_progress(jamf: JamfClient, db: Database, facts: Facts, known: RemediationView | None,
                     now: datetime) -> Progress:
    """Per ring when the rollout started for this very target version (one inventory pass), else the
    whole fleet; the baselines are read before anything new is recorded."""
    key, target = facts.key, facts.target_version
    previous = last_snapshot(db, key, target, now=now)
    if known is not None and known.scoped and known.facts.target_version == target:
        before = {r.name: last_snapshot(db, key, target, r.name, now) for r in known.rings}
        counts = rings.count(jamf, facts, known.rings, now)
        return Progress(facts, counts.fleet, previous, now, True, counts.rings, before)
    return Progress(facts, measure(jamf, facts), previous, now, False)


def keep(db: Database, progress: Progress) -> str:
    """Store the measurement (fleet and started rings); returns the fleet snapshot's id."""
    return record(db, progress.facts, progress.fleet, progress.started or None, progress.taken_at)


def compliance_text(p: Progress) -> str:
    """What `compliance KEY` answers: the fleet's line, and one line per ring once the rollout started."""
    key = p.facts.key
    if not p.by_ring:
        return f"📊 *{key}* {summary_line(Measured(p.facts, p.fleet, p.previous))}"
    c, failures = p.fleet, p.failures
    head = (f"📊 *{key}* *{p.percent:.1f}% complete*, {failures} failure{'s' if failures != 1 else ''}: "
            f"{c.compliant}/{c.total_with_app} Macs with {escape(p.facts.app_name)} at "
            f"≥ {escape(p.facts.target_version)}, {len(c.behind)} behind" + trend(c.compliant, p.previous))
    lines = [head, *(ring_line(r, p.before.get(r.ring.name)) for r in p.rings)]
    if failures:
        lines.append(f"Macs that need a hand: `exceptions {key}`")
    return "\n".join(lines)


@dataclass(frozen=True)
class Early:
    """A measurement started by the remediation's recorded app and version while Jira is read."""

    facts: Facts
    result: Callable[[], Progress]


def measure_early(jamf: JamfClient, db: Database, known: RemediationView | None, now: datetime) -> Early | None:
    """Start measuring what remedy recorded for the ticket (None when it recorded nothing)."""
    if known is None:
        return None
    return Early(known.facts, later(lambda: measure_progress(jamf, db, known.facts, known, now)))


def measured(jamf: JamfClient, db: Database, facts: Facts, known: RemediationView | None, now: datetime,
             early: Early | None) -> Progress:
    """``early``'s measurement when the ticket still names the app and version it was started for (the
    usual case: a change of target is rare), else a measurement of what the ticket says now."""
    if early is not None and early.facts == facts:
        return early.result()
    return measure_progress(jamf, db, facts, known, now)
