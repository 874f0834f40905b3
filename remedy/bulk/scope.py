"""Which tickets a bulk command covers, found with one paged Jira search, and what each one says.

Keys and epics go into JQL only as quoted literals (:mod:`remedy.jira.jql`); a `jql "…"` scope is the
user's own query, sent as typed (Jira checks it and answers 400 with its reason).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

from remedy.bulk import store
from remedy.db.session import Database
from remedy.errors import UserError
from remedy.jamf import JamfClient
from remedy.jira.client import JiraClient
from remedy.jira.errors import JiraInvalid
from remedy.jira.jql import in_list, quote
from remedy.jira.models import Issue
from remedy.remediation import store as remediation_store
from remedy.remediation.facts import facts_from_issue
from remedy.remediation.progress import Progress, measure_progress
from remedy.team import Directory
from remedy.workflow.templates import Workflows, open_phases

MAX_TICKETS = 1000  # Jira's bulk transition cap; a bigger scope is a query to narrow, not a job to run
VARIABLES = ("assignee", "phase", "compliance")
_VARIABLE = re.compile(r"\{(\w+)\}")
MINE = "your open tickets"


@dataclass(frozen=True)
class Resolved:
    issues: list[Issue]
    describe: str  # "epic CPE-123", "3 tickets", "your tickets", "jql: …"


def _epic_jql(epic: str) -> str:
    return f"parent = {quote(epic)} ORDER BY key ASC"


def scope_query(scope: Mapping[str, Any], user: str, db: Database, team: Directory,
                templates: Workflows) -> tuple[str, str]:
    """(JQL, how to name it) for a parsed :class:`remedy.commands.Scope` (as JSON)."""
    kind = scope.get("kind") or "default"
    if kind == "keys":
        keys = [str(k) for k in scope.get("keys") or []]
        return in_list("key", keys) + " ORDER BY key ASC", ", ".join(keys) if len(keys) <= 5 else f"{len(keys)} tickets"
    if kind == "jql":
        return str(scope.get("jql") or ""), "your JQL"
    epic = scope.get("epic") or store.epic_focus(db, user)
    if epic:
        return _epic_jql(str(epic)), f"epic {epic}"
    if kind == "epic":
        raise UserError("Which epic? Name it (`… epic CPE-123`) or set one with `focus epic CPE-123`.")
    person = team.by_slack_id(user)
    if person is None or not person.jira_account_id:
        raise UserError("I don't know your Jira account, so I can't find your tickets: name them, use "
                        '`epic KEY` or `jql "…"`, or set a focus with `focus epic CPE-123`.')
    open_statuses = templates.statuses(open_phases)  # every template's; resolve keeps each ticket's own
    jql = f"assignee = {quote(person.jira_account_id)} AND {in_list('status', open_statuses)} ORDER BY key ASC"
    return jql, MINE


def find(jira: JiraClient, jql: str, describe: str, explicit: list[str] | None = None) -> Resolved:
    """Every issue the query matches (paged), refusing more than :data:`MAX_TICKETS`."""
    try:
        issues = list(islice(jira.search(jql, max_results=100), MAX_TICKETS + 1))
    except JiraInvalid as exc:
        raise UserError(f"Jira could not run the search for {describe}: {exc}") from exc
    if len(issues) > MAX_TICKETS:
        raise UserError(f"{describe} matches more than {MAX_TICKETS} tickets; narrow it down.")
    if explicit:
        missing = sorted(set(explicit) - {i.key for i in issues})
        if missing:
            raise UserError(f"Not found in Jira (or not visible to remedy): {', '.join(missing)}.")
    return Resolved(issues, describe)


def resolve(jira: JiraClient, scope: Mapping[str, Any], user: str, db: Database, team: Directory,
            templates: Workflows) -> Resolved:
    jql, describe = scope_query(scope, user, db, team, templates)
    explicit = [str(k) for k in scope.get("keys") or []] if scope.get("kind") == "keys" else None
    found = find(jira, jql, describe, explicit)
    if describe != MINE:
        return found
    # Open by its own template: another template's open status is not this ticket's.
    return Resolved([i for i in found.issues if templates.in_phases(i, open_phases)], describe)


def epic_stories(jira: JiraClient, epic: str) -> list[Issue]:
    return find(jira, _epic_jql(epic), f"epic {epic}").issues


def phase_of(issue: Issue, templates: Workflows) -> str:
    """The phase as the ticket's own template names it; the Jira status for one it doesn't know."""
    phase = templates.phase_of(issue)
    return phase.name if phase else issue.status


def blockers(issue: Issue) -> list[str]:
    """Open tickets that block this one (a done blocker no longer blocks)."""
    return [link.other_key for link in issue.links
            if "blocked by" in link.phrase and (link.other_status or "").lower() != "done"]


def progress_of(jamf: JamfClient, db: Database, issue: Issue, now: datetime) -> Progress | None:
    """What `compliance KEY` measures for this ticket now; None when it doesn't say what it remediates."""
    try:
        facts = facts_from_issue(issue)
    except UserError:
        return None
    return measure_progress(jamf, db, facts, remediation_store.load(db, issue.key), now)


# -- comment templates ------------------------------------------------------------------------------
def check_template(body: str) -> None:
    unknown = sorted({name for name in _VARIABLE.findall(body) if name not in VARIABLES})
    if unknown:
        known = ", ".join(f"`{{{v}}}`" for v in VARIABLES)
        raise UserError(f"I can't fill {', '.join(f'`{{{u}}}`' for u in unknown)}: the comment may use {known}.")


def uses(body: str, variable: str) -> bool:
    return variable in _VARIABLE.findall(body)


def fill(body: str, values: Mapping[str, str]) -> str:
    return _VARIABLE.sub(lambda m: values.get(m.group(1), m.group(0)), body)


def values_for(issue: Issue, templates: Workflows, progress: Progress | None) -> dict[str, str]:
    return {"assignee": issue.assignee.display_name if issue.assignee else "unassigned",
            "phase": phase_of(issue, templates),
            "compliance": f"{progress.percent:.1f}%" if progress is not None else "n/a"}
