"""What remedy remembers per ticket (DB, survives restarts): the last analysis with the hash of what
it was drawn from — reused with no model call until the ticket changes — the phase it was last seen
in, and what it waits on (a blocking ticket, a vendor, a go/no-go card).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from remedy.db.models import AuditEvent, ComplianceSnapshot, RingState, RolloutDecision, TicketMemory
from remedy.db.session import Database
from remedy.jira.models import Issue
from remedy.llm.client import facts_hash
from remedy.llm.words import Phrased
from remedy.memory import Change, first_line
from remedy.remediation.store import aware
from remedy.slack.mrkdwn import escape

VENDOR_LABELS = frozenset({"vendor-wait"})
# "Waiting on vendor response", "waiting for Zoom support": the comment that says since when.
WAITING = re.compile(r"\bwait(?:s|ing)?\s+(?:on|for)\b", re.IGNORECASE)
# Audit actions that move a ticket through remedy: a phase change after one of them is already told.
MOVES = frozenset({"jira.move", "jamf.deploy", "jamf.rollout.go"})
_CLOSED = frozenset({"done", "closed", "resolved"})


# -- the analysis --------------------------------------------------------------------------------------


def analysis_hash(facts: dict[str, Any], jira_updated: datetime, wording: str) -> str:
    """The facts decide the words. Jira's ``updated`` stamp joins them because a change the facts
    don't carry (a new comment) must still be looked at afresh; ``wording`` (model and prompt
    version) because another model or prompt words the same facts differently."""
    return facts_hash({"facts": facts, "jira_updated": jira_updated.astimezone(UTC).isoformat(), "wording": wording})


@dataclass(frozen=True)
class Remembered:
    phrased: Phrased
    analysed_at: datetime


def recall_analysis(db: Database, key: str, fhash: str) -> Remembered | None:
    """The stored analysis if it was drawn from exactly these facts, else None."""
    with db.session() as s:
        row = s.get(TicketMemory, key)
        if row is None or row.facts_hash != fhash or not row.analysis or row.analysed_at is None:
            return None
        data, at = dict(row.analysis), aware(row.analysed_at) or row.analysed_at
    try:
        phrased = Phrased({str(k): str(v) for k, v in data["fields"].items()}, frozenset(data.get("by_model", [])),
                          {str(k): list(v) for k, v in (data.get("rejected") or {}).items()})
    except (KeyError, AttributeError, TypeError):
        return None  # a row written by another version: analyse afresh
    return Remembered(phrased, at)


def remember_analysis(db: Database, key: str, fhash: str, phrased: Phrased, phase: str, now: datetime) -> None:
    data = {"fields": dict(phrased.fields), "by_model": sorted(phrased.by_model), "rejected": phrased.rejected}
    with db.session() as s:
        row = s.get(TicketMemory, key)
        if row is None:
            row = TicketMemory(ticket_key=key)
            s.add(row)
        row.facts_hash, row.analysis, row.analysed_at = fhash, data, now
        _note(row, phase, now)


def _note(row: TicketMemory, phase: str, now: datetime) -> None:
    if row.phase != phase:
        row.phase, row.phase_since = phase, now


# -- the phase, as remedy last saw it -------------------------------------------------------------------


def note_phases(db: Database, phases: dict[str, str], now: datetime) -> list[Change]:
    """Record each ticket's phase as seen now. Returns the changes since remedy last saw one that no
    move through remedy explains (those are in the audit trail): moved in Jira itself."""
    changes: list[Change] = []
    with db.session() as s:
        for key, phase in phases.items():
            row = s.get(TicketMemory, key)
            if row is None:
                s.add(TicketMemory(ticket_key=key, phase=phase, phase_since=now))
                continue
            since = aware(row.phase_since)
            if row.phase and row.phase != phase and since is not None and not s.scalar(
                    select(AuditEvent.seq).where(AuditEvent.target == key, AuditEvent.action.in_(MOVES),
                                                 AuditEvent.ts > since).limit(1)):
                changes.append(Change(key, now, f"is now in {escape(phase)} (was {escape(row.phase)}), "
                                                 "changed in Jira"))
            _note(row, phase, now)
    return changes


# -- what changed on the ticket ------------------------------------------------------------------------


def comment_changes(issues: list[Issue], since: datetime, skip_accounts: set[str]) -> list[Change]:
    """Jira comments newer than ``since`` by anyone but ``skip_accounts`` (the user; remedy's own
    account, whose comments the audit trail already names the person for)."""
    return [Change(i.key, c.created, f"{escape(c.author)} commented in Jira: “{first_line(c.body_text)}”")
            for i in issues for c in i.comments if c.created > since and c.author_account_id not in skip_accounts]


def ring_labels(db: Database, keys: list[str]) -> dict[tuple[str, str], str]:
    with db.session() as s:
        return {(r.ticket_key, r.name): r.label for r in s.scalars(select(RingState).where(
            RingState.ticket_key.in_(keys)))}


def compliance_changes(db: Database, keys: list[str], since: datetime) -> list[Change]:
    """Per ticket and ring (None: the fleet), the newest measurement after ``since`` against the
    newest one at or before it; a first measurement is news too."""
    labels = ring_labels(db, keys)
    with db.session() as s:
        after = list(s.scalars(select(ComplianceSnapshot).where(
            ComplianceSnapshot.ticket_key.in_(keys), ComplianceSnapshot.taken_at > since)
            .order_by(ComplianceSnapshot.id)))
        newest = {(r.ticket_key, r.ring, r.target_version): r for r in after}
        changes = []
        for (key, ring, target), now in newest.items():
            before = s.scalar(select(ComplianceSnapshot).where(
                ComplianceSnapshot.ticket_key == key, ComplianceSnapshot.target_version == target,
                ComplianceSnapshot.ring.is_(None) if ring is None else ComplianceSnapshot.ring == ring,
                ComplianceSnapshot.taken_at <= since).order_by(ComplianceSnapshot.id.desc()).limit(1))
            what = "fleet compliance" if ring is None else f"{escape(labels.get((key, ring), ring))} ring"
            line = _moved(what, before, now)
            if line:
                changes.append(Change(key, aware(now.taken_at) or now.taken_at, line))
    return changes


def _pct(row: ComplianceSnapshot) -> str:
    return f"{100 * row.compliant / row.total:.1f}%" if row.total else "n/a"


def _moved(what: str, before: ComplianceSnapshot | None, now: ComplianceSnapshot) -> str | None:
    count = f"{now.compliant}/{now.total} Macs"
    if before is None:
        return f"{what} measured: {_pct(now)} ({count})"
    if (before.compliant, before.total) == (now.compliant, now.total):
        return None
    return f"{what} {_pct(before)} → *{_pct(now)}* ({count})"


# -- what waits on what ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Card:
    id: int
    key: str
    from_ring: str
    to_ring: str
    created_at: datetime
    requested_by: str


def pending_cards(db: Database, keys: list[str], slack_user_id: str) -> list[Card]:
    """Go/no-go cards still waiting for a lead, on these tickets or asked for by this user."""
    with db.session() as s:
        rows = s.scalars(select(RolloutDecision).where(
            RolloutDecision.status == "pending",
            RolloutDecision.ticket_key.in_(keys) | (RolloutDecision.requested_by == slack_user_id))
            .order_by(RolloutDecision.id))
        return [Card(r.id, r.ticket_key, r.from_ring, r.to_ring, aware(r.created_at) or r.created_at, r.requested_by)
                for r in rows]


def link_times(db: Database, keys: set[str]) -> dict[tuple[str, str], datetime]:
    """(blocker, blocked) → when remedy recorded that link (Jira's links carry no date)."""
    with db.session() as s:
        rows = s.execute(select(AuditEvent.target, AuditEvent.data, AuditEvent.ts).where(
            AuditEvent.action == "jira.link", AuditEvent.target.in_(sorted(keys))).order_by(AuditEvent.seq))
        found: dict[tuple[str, str], datetime] = {}
        for target, data, ts in rows:
            found.setdefault((str((data or {}).get("blocker")), str(target)), aware(ts) or ts)
        return found


@dataclass(frozen=True)
class Wait:
    key: str  # the ticket that waits
    summary: str
    icon: str
    on: str  # mrkdwn: what it waits on
    since: datetime
    exact: bool  # False: a lower bound (a link made outside remedy is no older than its ticket)


def waits(issues: list[Issue], cards: list[Card], linked: dict[tuple[str, str], datetime],
          labels: dict[tuple[str, str], str]) -> list[Wait]:
    """Everything the user's open tickets wait on — and what waits on them — oldest first."""
    summaries = {i.key: i.summary for i in issues}
    found = [*_link_waits(issues, linked), *(_vendor_wait(i) for i in issues if _vendor(i))]
    for card in cards:
        ring = " → ".join(labels.get((card.key, name), name) for name in (card.from_ring, card.to_ring))
        found.append(Wait(card.key, summaries.get(card.key, ""), "✋", f"a lead's go/no-go for {escape(ring)}",
                          card.created_at, True))
    return sorted(found, key=lambda w: w.since)


def _link_waits(issues: list[Issue], linked: dict[tuple[str, str], datetime]) -> list[Wait]:
    pairs: dict[tuple[str, str], tuple[str, str, datetime]] = {}  # (blocker, blocked) → summary, on, bound
    for issue in (i for i in issues if not i.is_done):
        for ln in issue.links:
            if (ln.other_status or "").lower() in _CLOSED:
                continue
            if "blocked by" in ln.phrase:
                pair, summary, status = (ln.other_key, issue.key), issue.summary, ln.other_status or "?"
            elif ln.phrase.startswith("blocks"):
                pair, summary, status = (issue.key, ln.other_key), ln.other_summary or "", issue.status
            else:
                continue
            bound = max(issue.created, pairs[pair][2]) if pair in pairs else issue.created
            pairs[pair] = (summary, f"*{pair[0]}* ({escape(status)})", bound)
    return [Wait(blocked, summary, "⛔", on, linked.get((blocker, blocked), bound), (blocker, blocked) in linked)
            for (blocker, blocked), (summary, on, bound) in pairs.items()]


def _vendor(issue: Issue) -> bool:
    return not issue.is_done and any(label.lower() in VENDOR_LABELS for label in issue.labels)


def _vendor_wait(issue: Issue) -> Wait:
    said = next((c for c in issue.comments if WAITING.search(c.body_text)), None)
    if said is None:
        return Wait(issue.key, issue.summary, "⏳", "the vendor (labelled vendor-wait)", issue.created, False)
    return Wait(issue.key, issue.summary, "⏳", f"the vendor: “{first_line(said.body_text)}”", said.created, True)
