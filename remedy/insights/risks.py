"""The risk rules: pure functions from what Jira, Jamf and remedy's own records say to :class:`Risk`s.

No I/O and no clock: the job gathers :class:`Inputs` (remedy.insights.gather) and passes ``now``, so
each rule can be tested on constructed fixtures. Thresholds come from insights.yml; "older than N
days" is strict (a wait of exactly N days is not overdue), "within N days" includes the N-th day.
"""

from __future__ import annotations

from datetime import UTC, datetime

from remedy.insights.model import Inputs, NextAction, Risk, days_between, ordered, plural, sla_due
from remedy.insights.rollout_risks import card_risks, compliance_risks, ring_risks
from remedy.insights.settings import InsightSettings
from remedy.jira.models import Issue
from remedy.memory import first_line
from remedy.slack.mrkdwn import escape
from remedy.tickets.memory import WAITING

_CLOSED = frozenset({"done", "closed", "resolved"})
ESCALATE = NextAction("Escalate", "escalate")


def _assignee(issue: Issue) -> str | None:
    return issue.assignee.account_id if issue.assignee else None


def _is_subtask(issue: Issue) -> bool:
    return issue.issue_type.casefold() in ("sub-task", "subtask")


def _due_phrase(days_left: int) -> str:
    if days_left < 0:
        return f"{plural(-days_left, 'day')} overdue"
    return "due today" if days_left == 0 else f"due in {plural(days_left, 'day')}"


# -- SLA ---------------------------------------------------------------------------------------------


def sla_risks(issues: list[Issue], settings: InsightSettings, now: datetime) -> list[Risk]:
    found = []
    for issue in issues:
        due = sla_due(issue, settings) if not (issue.is_done or _is_subtask(issue)) else None
        if due is None:
            continue
        (deadline, source), left = due, days_between(now, due[0])
        if left > settings.sla.near_days:
            continue
        rule = "sla_breached" if left < 0 else "sla_near"
        head = (f"SLA breached: {_due_phrase(left)}" if left < 0 else f"SLA at risk: {_due_phrase(left)}")
        found.append(Risk(
            rule, issue.key, "", getattr(settings.severity, rule), float(left), f"{head} ({deadline:%Y-%m-%d})",
            f"{escape(issue.summary)} · {escape(issue.status)} · {escape(source)}", ESCALATE,
            {"due": deadline.isoformat(), "days_left": left, "source": source, "status": issue.status},
            (rule, deadline.isoformat()), _assignee(issue)))
    return found


# -- blockers ----------------------------------------------------------------------------------------


def blocking_pairs(issues: list[Issue]) -> dict[tuple[str, str], str]:
    """(blocker, blocked) → the blocker's status, for every "Blocks" link of the open tickets that still
    holds: the blocker is not done, and neither is the ticket it blocks. A link shows on both ends."""
    pairs: dict[tuple[str, str], str] = {}
    for issue in (i for i in issues if not i.is_done):
        for ln in issue.links:
            other = (ln.other_status or "").casefold()
            if "blocked by" in ln.phrase and other not in _CLOSED:
                pairs[(ln.other_key, issue.key)] = ln.other_status or "?"
            elif ln.phrase.startswith("blocks") and other not in _CLOSED:
                pairs[(issue.key, ln.other_key)] = issue.status
    return pairs


def blocker_risks(inputs: Inputs, settings: InsightSettings) -> list[Risk]:
    by_key = {i.key: i for i in inputs.issues}
    found = []
    for (blocker, blocked), status in sorted(blocking_pairs(inputs.issues).items()):
        issue = by_key.get(blocked)
        if issue is None:
            continue  # the blocked ticket is not among the open ones we look after
        exact = inputs.link_times.get((blocker, blocked))
        since = exact or max(i.created for i in (issue, by_key.get(blocker)) if i is not None)
        age = days_between(since, inputs.now)
        if age <= settings.blockers.max_days:
            continue
        bound = "" if exact else "at least "
        found.append(Risk(
            "blocker_old", blocked, blocker, settings.severity.blocker_old,
            float(settings.blockers.max_days - age), f"blocked by *{blocker}* for {bound}{plural(age, 'day')}",
            f"{escape(blocker)} is in {escape(status)} · limit {plural(settings.blockers.max_days, 'day')}"
            + ("" if exact else " · link date unknown: counted from the tickets' creation"),
            NextAction(f"Escalate {blocker}", f"escalate {blocker}"),
            {"blocker": blocker, "blocker_status": status, "days": age, "max_days": settings.blockers.max_days},
            (blocker, since.astimezone(UTC).date().isoformat()), _assignee(issue)))
    return found


# -- vendor waits ------------------------------------------------------------------------------------


def vendor_since(issue: Issue) -> tuple[datetime, str | None]:
    """When the vendor wait began: the first comment saying "waiting on/for …" (and its first line),
    else the ticket's creation (a lower bound)."""
    said = next((c for c in issue.comments if WAITING.search(c.body_text)), None)
    return (said.created, first_line(said.body_text)) if said else (issue.created, None)


def vendor_risks(issues: list[Issue], settings: InsightSettings, now: datetime) -> list[Risk]:
    labels = {label.casefold() for label in settings.vendor.labels}
    found = []
    for issue in issues:
        if issue.is_done or not any(label.casefold() in labels for label in issue.labels):
            continue
        since, said = vendor_since(issue)
        waited = days_between(since, now)
        if waited <= settings.vendor.response_days:
            continue
        quote = f"“{escape(said)}”" if said else "labelled vendor-wait, no comment says since when"
        found.append(Risk(
            "vendor_overdue", issue.key, "", settings.severity.vendor_overdue,
            float(settings.vendor.response_days - waited), f"vendor response overdue ({plural(waited, 'day')})",
            f"waiting since {since:%Y-%m-%d}: {quote} · expected within {plural(settings.vendor.response_days, 'day')}",
            NextAction("Remind vendor", "draft comment about a reminder to the vendor"),
            {"waiting_days": waited, "since": f"{since:%Y-%m-%d}", "expected_days": settings.vendor.response_days},
            (since.astimezone(UTC).date().isoformat(),), _assignee(issue)))
    return found


# -- all of them -------------------------------------------------------------------------------------


def evaluate(inputs: Inputs, settings: InsightSettings) -> list[Risk]:
    """Every rule's risks, high severity first, then the most urgent. A near SLA is left out where a
    compliance risk on the same ticket already says how near the deadline is."""
    found = [*sla_risks(inputs.issues, settings, inputs.now), *blocker_risks(inputs, settings),
             *vendor_risks(inputs.issues, settings, inputs.now), *compliance_risks(inputs, settings),
             *ring_risks(inputs, settings), *card_risks(inputs, settings)]
    told = {r.ticket for r in found if r.rule.startswith("compliance_")}
    return ordered([r for r in found if not (r.rule == "sla_near" and r.ticket in told)])
