"""What the planner reads: the user's open tickets ranked by the prioritization rules, where each
rollout stands in remedy's records, and the go/no-go cards waiting for a lead."""

from __future__ import annotations

from remedy.commands import Role
from remedy.jira.jql import quote
from remedy.jira.models import Issue
from remedy.remediation import decisions
from remedy.remediation import store as remediations
from remedy.services import Services
from remedy.sessions import store
from remedy.sessions.plan import Approval, Ticket, rollout_stage
from remedy.workflow.priority_view import PRIORITY_FIELDS, rank_issues

# A sub-task's work is a step of its parent's phase, and an epic has no app to remediate: neither
# has phase steps of its own to plan.
_NOT_PLANNED = frozenset({"subtask", "sub-task", "epic"})


def _plannable(issue: Issue) -> bool:
    return not issue.is_done and issue.issue_type.casefold() not in _NOT_PLANNED


def tickets(services: Services, account_id: str) -> list[Ticket]:
    """The Jira account's open tickets, highest priority first, each with its rollout stage."""
    found = services.jira.search(f"assignee = {quote(account_id)}", fields=PRIORITY_FIELDS)
    plannable = {issue.key: issue for issue in found if _plannable(issue)}
    ranked = rank_issues(services, list(plannable.values()))
    out: list[Ticket] = []
    for r in ranked:
        key = r.facts.key
        known = remediations.load(services.db, key)
        waiting = bool(decisions.pending_for(services.db, key))
        # The phase by the ticket's own template, whose steps the plan offers.
        phase = services.templates.phase_of(plannable[key])
        out.append(Ticket(key, r.facts.summary, phase, rollout_stage(known, waiting)))
    return out


def approvals(services: Services, role: Role) -> list[Approval]:
    """Pending go/no-go cards when the user may decide them: a lead approves the team's rollouts,
    whoever the tickets are assigned to."""
    if role < Role.LEAD:
        return []
    out: list[Approval] = []
    for decision_id in store.pending_decision_ids(services.db):
        view = decisions.get(services.db, decision_id)
        if view is not None:
            out.append(Approval(view.id, view.ticket_key, str(view.numbers.get("next_label") or view.to_ring)))
    return out
