"""Measure a remediation's compliance on the fleet now, keep the snapshot, compare with the last."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from remedy.db.models import ComplianceSnapshot, utcnow
from remedy.db.session import Database
from remedy.errors import UserError
from remedy.jamf import JamfClient
from remedy.jamf.compliance import compliance
from remedy.jamf.models import ComplianceCount
from remedy.jira.models import Issue
from remedy.remediation.facts import Facts, facts_from_issue
from remedy.remediation.rings import RingCount
from remedy.remediation.store import RemediationView, upsert_facts
from remedy.slack.mrkdwn import escape


@dataclass(frozen=True)
class Previous:
    compliant: int
    total: int
    taken_at: datetime


@dataclass(frozen=True)
class Measured:
    facts: Facts
    count: ComplianceCount
    previous: Previous | None

    @property
    def percent(self) -> float:
        return 100.0 * self.count.ratio


def measure(jamf: JamfClient, facts: Facts) -> ComplianceCount:
    """Macs that have the app, and how many are at the target version or newer (numeric compare)."""
    return compliance(jamf, facts.bundle_id, facts.target_version)


# "Since yesterday": the newest snapshot at least this old is the baseline; a measurement from an
# hour ago would make every trend look flat.
TREND_BASELINE = timedelta(hours=20)


def last_snapshot(db: Database, key: str, target: str, ring: str | None = None,
                  now: datetime | None = None) -> Previous | None:
    """The baseline for a trend, of the whole fleet (``ring`` None) or of one ring, for this target:
    the newest snapshot from about a day ago or earlier when ``now`` is given and one exists,
    else the newest of all."""
    where = [ComplianceSnapshot.ticket_key == key, ComplianceSnapshot.target_version == target,
             ComplianceSnapshot.ring.is_(None) if ring is None else ComplianceSnapshot.ring == ring]
    newest = select(ComplianceSnapshot).order_by(ComplianceSnapshot.id.desc()).limit(1)
    with db.session() as s:
        row = None
        if now is not None:
            row = s.scalar(newest.where(*where, ComplianceSnapshot.taken_at <= now - TREND_BASELINE))
        row = row or s.scalar(newest.where(*where))
        return Previous(row.compliant, row.total, row.taken_at) if row else None


def record(db: Database, facts: Facts, count: ComplianceCount, rings: list[RingCount] | None = None,
           taken_at: datetime | None = None) -> str:
    """Store the fleet's snapshot, one per started ring, and what the ticket remediates; returns the
    fleet snapshot's id."""
    with db.session() as s:
        upsert_facts(s, facts)
        at = taken_at or utcnow()
        snap = ComplianceSnapshot(ticket_key=facts.key, compliant=count.compliant, total=count.total_with_app,
                                  target_version=facts.target_version, taken_at=at)
        s.add(snap)
        for ring in rings or []:
            s.add(ComplianceSnapshot(ticket_key=facts.key, compliant=ring.compliant, total=ring.with_app,
                                     target_version=facts.target_version, ring=ring.ring.name, taken_at=at,
                                     failures=ring.failures))
        s.flush()
        return str(snap.id)


def summary_line(m: Measured) -> str:
    """'85.2% compliant: 758/890 Macs at Chrome ≥ 120.0.6099.109, 132 behind · ▲ 41 since …' — numbers only."""
    c, f = m.count, m.facts
    line = (f"*{m.percent:.1f}% compliant*: {c.compliant}/{c.total_with_app} Macs with {f.app_name} at "
            f"≥ {f.target_version} ({f.bundle_id}), {len(c.behind)} behind")
    return line + trend(c.compliant, m.previous)


def trend(compliant: int, previous: Previous | None) -> str:
    """' · ▲ +41 since 2026-11-24 09:00 UTC', or nothing without an earlier measurement."""
    if previous is None:
        return ""
    delta = compliant - previous.compliant
    arrow = "▲" if delta > 0 else "▼" if delta < 0 else "="
    return f" · {arrow} {delta:+d} since {previous.taken_at:%Y-%m-%d %H:%M} UTC"


def ring_line(ring: RingCount, previous: Previous | None) -> str:
    """'• Pilot (Pilot - Chrome): 97.8% (44/45) ✅ ≥ 90% · 1 failure, 0 waiting, 0 offline · ▲ +3 since …'"""
    r = ring.ring
    if r.status == "pending":
        return f"• {escape(r.label)} ({escape(r.group_name)}): not started · {ring.members} Macs"
    mark = "✅" if ring.meets_threshold else "⏳"
    failures = f"{ring.failures} failure{'s' if ring.failures != 1 else ''}"
    return (f"• *{escape(r.label)}* ({escape(r.group_name)}): {ring.success_rate:.1f}% "
            f"({ring.compliant}/{ring.with_app}) {mark} ≥ {r.threshold:g}% · {failures}, "
            f"{ring.waiting} waiting, {ring.offline} offline"
            + trend(ring.compliant, previous))


def latest_for(db: Database, issue: Issue, known: RemediationView | None) -> Previous | None:
    """The newest whole-fleet measurement of what the ticket remediates, without a Jamf call (cards
    and drafts must be fast); None when never measured or the ticket doesn't say what it remediates."""
    if known is not None:
        target = known.facts.target_version
    else:
        try:
            target = facts_from_issue(issue).target_version
        except UserError:
            return None
    return last_snapshot(db, issue.key, target)
