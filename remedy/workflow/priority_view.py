"""Prioritization with remedy's state: fleet exposure from stored compliance snapshots, the people's
overrides, and the one line that shows a ticket's priority in Slack.

No Jamf or Jira call happens here (the caller brings the issues), so a queue of tickets costs two
database queries. Used by `priorities` and by the ticket cards.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select

from remedy.db.models import ComplianceSnapshot, PriorityOverride
from remedy.jira.models import Issue
from remedy.remediation.store import aware
from remedy.services import Services
from remedy.slack.mrkdwn import escape
from remedy.workflow.priority import (
    Override,
    PriorityRules,
    Ranked,
    Score,
    breakdown,
    current_override,
    facts_for,
    load_priority_rules,
    order,
    score,
)
from remedy.workflow.template import WorkflowTemplate

_MENTION = re.compile(r"<@[A-Z0-9]+>")  # someone not in the team directory: Slack shows their name
# The Jira fields the rules read: search asks for these only (no comments), to keep a queue fast.
PRIORITY_FIELDS: tuple[str, ...] = (
    "summary", "status", "priority", "labels", "duedate", "description", "issuelinks", "created", "updated",
    "issuetype",
)  # fmt: skip


def exposure(services: Services, keys: Sequence[str]) -> dict[str, int]:
    """Macs still behind per ticket, from each ticket's newest whole-fleet snapshot; a ticket never
    measured is absent (its exposure is unknown, not zero)."""
    if not keys:
        return {}
    query = (select(ComplianceSnapshot)
             .where(ComplianceSnapshot.ticket_key.in_(keys), ComplianceSnapshot.ring.is_(None))
             .order_by(ComplianceSnapshot.id.desc()))
    behind: dict[str, int] = {}
    with services.db.session() as s:
        for snap in s.scalars(query):
            behind.setdefault(snap.ticket_key, max(0, snap.total - snap.compliant))
    return behind


def _level(workflow: WorkflowTemplate, jira_name: str) -> str:
    # Overrides are stored as the Jira priority name the command set; people think in P1..P4.
    return next((level for level, name in workflow.priorities.items() if name.casefold() == jira_name.casefold()),
                jira_name)


def overrides(services: Services, issues: Sequence[Issue], now: datetime) -> dict[str, Override]:
    """The override that counts now for each ticket that has one, its level as the ticket's own
    template maps Jira priorities to P1..P4."""
    if not issues:
        return {}
    own = {issue.key: services.workflow_for(issue) for issue in issues}
    query = (select(PriorityOverride).where(PriorityOverride.ticket_key.in_(list(own)))
             .order_by(PriorityOverride.id.desc()))
    found: dict[str, list[Override]] = {}
    with services.db.session() as s:
        for row in s.scalars(query):
            person = services.team.by_slack_id(row.slack_user_id)
            found.setdefault(row.ticket_key, []).append(Override(
                ticket_key=row.ticket_key, level=_level(own[row.ticket_key], row.priority), reason=row.reason,
                by=person.name if person else f"<@{row.slack_user_id}>",
                created_at=aware(row.created_at) or now, expires_at=aware(row.expires_at)))
    chosen = {key: current_override(rows, now) for key, rows in found.items()}
    return {key: o for key, o in chosen.items() if o is not None}


def rank_issues(services: Services, issues: Sequence[Issue], rules: PriorityRules | None = None) -> list[Ranked]:
    """The issues scored by the rules (priority.yml) at the services' clock, overrides applied,
    highest priority first."""
    rules = rules or load_priority_rules(services.settings.REMEDY_CONFIG_DIR)
    now = services.clock()
    keys = [issue.key for issue in issues]
    behind, chosen = exposure(services, keys), overrides(services, issues, now)
    ranked = []
    for issue in issues:
        facts = facts_for(issue, behind.get(issue.key), services.workflow_for(issue))  # its own phase names
        ranked.append(Ranked(facts, score(facts, rules, now.date()), chosen.get(issue.key)))
    return order(ranked, rules)


def ticket_priority(services: Services, issue: Issue) -> tuple[Score, Override | None]:
    """One ticket's computed score and the override that wins over it, if any (for ticket cards)."""
    ranked = rank_issues(services, [issue])[0]
    return ranked.score, ranked.override


def priority_line(result: Score, override: Override | None) -> str:
    """Slack mrkdwn (outside text escaped): the breakdown, or the override with the computed one
    kept beside it — 'P1 (override by Sarah Chen: exploited; computed P2: CVE 8.8 (+40), …)'."""
    computed = escape(breakdown(result))
    if override is None:
        return computed
    until = f" until {override.expires_at:%Y-%m-%d %H:%M} UTC" if override.expires_at else ""
    why = f": {escape(override.reason)}" if override.reason else ""
    by = override.by if _MENTION.fullmatch(override.by) else escape(override.by)
    return f"{escape(override.level)} (override by {by}{until}{why}; computed {computed})"
