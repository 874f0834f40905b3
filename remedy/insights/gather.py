"""What the risk rules look at, read from Jira, Jamf and remedy's database.

Jira is required (an outage propagates: the job is retried, then reported with a Retry button);
Jamf is not: without it the compliance rule is skipped and the answer says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from remedy.db.models import ComplianceSnapshot
from remedy.errors import UserError
from remedy.insights.model import Inputs, RingWatch, Rollout
from remedy.jamf.errors import JamfError
from remedy.jamf.models import ComplianceCount
from remedy.jira.jql import in_list
from remedy.jira.models import Issue
from remedy.parallel import parallel
from remedy.remediation import decisions, store
from remedy.remediation.facts import Facts, facts_from_issue
from remedy.remediation.measure import measure
from remedy.remediation.store import aware
from remedy.services import Services
from remedy.tickets import memory as ticket_memory
from remedy.workflow.templates import open_phases, rolling_phases


@dataclass(frozen=True)
class Gathered:
    inputs: Inputs
    notes: list[str]  # what could not be looked at, for the answer
    complete: bool  # no service failed to answer (a cleared risk may be forgotten only then)


def open_issues(svc: Services) -> list[Issue]:
    """Open tickets in any phase but the last (done) of the template each follows: the search asks
    for the open statuses of every template, then each ticket is judged by its own."""
    templates = svc.templates
    found = svc.jira.search(in_list("status", templates.statuses(open_phases)) + " ORDER BY key ASC")
    return [i for i in found if not i.is_done and templates.in_phases(i, open_phases)]


def gather(svc: Services, issues: list[Issue], now: datetime) -> Gathered:
    keys = [i.key for i in issues]
    involved = {*keys, *(ln.other_key for i in issues for ln in i.links)}
    rollouts, notes, complete = _rollouts(svc, issues)
    inputs = Inputs(issues, now, ticket_memory.link_times(svc.db, involved), rollouts, _rings(svc, set(keys)),
                    ticket_memory.pending_cards(svc.db, keys, ""), ticket_memory.ring_labels(svc.db, keys))
    return Gathered(inputs, notes, complete)


def _rolling(svc: Services, issues: list[Issue]) -> list[Issue]:
    """From its template's pilot phase on, short of done. Epics and sub-tasks share their stories'
    statuses but remediate nothing themselves."""
    return [i for i in issues if svc.templates.in_phases(i, rolling_phases)
            and i.issue_type.casefold() not in ("epic", "sub-task", "subtask")]


def _rollouts(svc: Services, issues: list[Issue]) -> tuple[list[Rollout], list[str], bool]:
    readable: list[tuple[Issue, Facts]] = []
    unclear = []
    for issue in _rolling(svc, issues):
        try:
            readable.append((issue, facts_from_issue(issue)))
        except UserError:
            unclear.append(issue.key)
    notes = [f"not measured: {', '.join(unclear)} (no Bundle ID / Target version)"] if unclear else []
    try:
        counts: list[ComplianceCount] = parallel([_measure(svc, facts) for _, facts in readable])
    except JamfError as exc:
        return [], [*notes, f"compliance not checked: Jamf is unavailable ({exc})"], False
    targets = svc.templates.targets([issue for issue, _ in readable])  # each ticket's own last ring
    return [Rollout(issue, count, targets[issue.key], _first_measure(svc, facts), _next_ring(svc, issue.key))
            for (issue, facts), count in zip(readable, counts, strict=True)], notes, True


def _measure(svc: Services, facts: Facts) -> Callable[[], ComplianceCount]:
    return lambda: measure(svc.jamf, facts)


def _first_measure(svc: Services, facts: Facts) -> tuple[datetime, float] | None:
    """Where the rollout started: the first stored measurement of the fleet for this target."""
    with svc.db.session() as s:
        row = s.scalar(select(ComplianceSnapshot).where(
            ComplianceSnapshot.ticket_key == facts.key, ComplianceSnapshot.target_version == facts.target_version,
            ComplianceSnapshot.ring.is_(None)).order_by(ComplianceSnapshot.id).limit(1))
        if row is None or not row.total:
            return None
        return aware(row.taken_at) or row.taken_at, 100.0 * row.compliant / row.total


def _next_ring(svc: Services, key: str) -> str | None:
    view = store.load(svc.db, key)
    if view is None or view.active is None:
        return None
    after = view.next_after(view.active)
    return after.label if after is not None and after.status == "pending" else None


def _rings(svc: Services, open_keys: set[str]) -> list[RingWatch]:
    watches = []
    for key in store.active_tickets(svc.db):
        view = store.load(svc.db, key)
        if key not in open_keys or view is None or view.active is None:
            continue
        after = view.next_after(view.active)
        cards = [c.created_at for c in decisions.for_ticket(svc.db, key) if c.from_ring == view.active.name]
        watches.append(RingWatch(key, view.active, after.label if after else None, max(cards, default=None)))
    return watches
