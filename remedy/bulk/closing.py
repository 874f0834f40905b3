"""`close all resolved`: which tickets are verified, and closing them with as few Jira calls as fit.

A ticket qualifies when Jira already has a resolution on it, or when it is in the phase before done of
its own workflow template (Verify in the default) with every subtask done and its fleet compliance at or
above that template's last ring threshold (measured as `compliance KEY` measures). Tickets that share
the same Done transition go to Jira's bulk transition API in one task (polled until it finishes); a lone
ticket, or a group the bulk API refuses, is moved one call at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from remedy.bulk.runner import Outcome, failure_code
from remedy.bulk.scope import phase_of, progress_of
from remedy.db.session import Database
from remedy.jamf import JamfClient
from remedy.jira.client import JiraClient
from remedy.jira.errors import JiraError, JiraForbidden, JiraNotFound
from remedy.jira.models import Issue
from remedy.parallel import parallel
from remedy.workflow import WorkflowTemplate
from remedy.workflow.templates import Workflows


@dataclass(frozen=True)
class Candidate:
    key: str
    why: str


def is_closed(issue: Issue, workflow: WorkflowTemplate) -> bool:
    return issue.status_category == "done" or issue.status == workflow.phases[-1].jira_status


def verify_and_target(workflow: WorkflowTemplate) -> tuple[str, float]:
    """The phase a verified ticket waits in (the one before done) and the compliance it needs there."""
    return workflow.phases[-2].name, workflow.rings[-1].threshold


def candidates(jamf: JamfClient, db: Database, templates: Workflows, issues: Sequence[Issue],
               now: datetime) -> list[Candidate]:
    """Each ticket judged by its own template: its phase before done, its last ring's threshold."""
    found: dict[str, Candidate] = {}
    to_measure: list[Issue] = []
    for issue in issues:
        workflow = templates.for_issue(issue)
        if is_closed(issue, workflow):
            continue
        if issue.resolution:
            found[issue.key] = Candidate(issue.key, f"Jira resolution “{issue.resolution}”")
        elif phase_of(issue, templates) == verify_and_target(workflow)[0] and all(s.done for s in issue.subtasks):
            to_measure.append(issue)
    measured = parallel([lambda i=i: progress_of(jamf, db, i, now) for i in to_measure])  # type: ignore[misc]
    for issue, progress in zip(to_measure, measured, strict=True):
        verify, target = verify_and_target(templates.for_issue(issue))
        if progress is not None and progress.percent >= target:
            found[issue.key] = Candidate(issue.key, f"{verify} done, {progress.percent:.1f}% ≥ {target:g}% compliant")
    return [found[i.key] for i in issues if i.key in found]


def requirement(templates: Workflows, issues: Sequence[Issue]) -> str:
    """What a ticket needs to be closed, for "nothing to close": per template the tickets follow."""
    rules = list(dict.fromkeys(verify_and_target(templates.for_issue(i)) for i in issues)) or [
        verify_and_target(templates.default)]
    if len(rules) == 1:
        return f"is in {rules[0][0]} with its subtasks done and ≥ {rules[0][1]:g}% compliant"
    each = " or ".join(f"{verify} and ≥ {target:g}%" for verify, target in rules)
    return f"is in its template's phase before done with its subtasks done and compliant ({each})"


def done_transition(jira: JiraClient, key: str, workflow: WorkflowTemplate) -> str | None:
    done = workflow.phases[-1].jira_status.lower()
    return next((t.id for t in jira.transitions(key) if t.to_status.lower() == done), None)


def plan(jira: JiraClient, keys: Sequence[str], own: Mapping[str, WorkflowTemplate]
         ) -> tuple[dict[str, list[str]], dict[str, Outcome]]:
    """Group tickets by the transition that takes each to Done (the last phase of its own template,
    ``own[key]``) now; those without one fail here."""
    groups: dict[str, list[str]] = {}
    outcomes: dict[str, Outcome] = {}

    def look(key: str) -> tuple[str, str | None, JiraError | None]:
        try:
            return key, done_transition(jira, key, own[key]), None
        except JiraError as exc:
            return key, None, exc

    for key, transition, error in parallel([lambda k=k: look(k) for k in keys]):  # type: ignore[misc]
        if error is not None:
            outcomes[key] = Outcome(key, False, str(error), failure_code(error))
        elif transition is None:
            outcomes[key] = Outcome(key, False, "Jira allows no move to Done from its status now", "409")
        else:
            groups.setdefault(transition, []).append(key)
    return groups, outcomes


def bulk_close(jira: JiraClient, keys: Sequence[str], transition: str, ids: dict[str, str],
               poll_every: float) -> dict[str, Outcome] | None:
    """One bulk task for ``keys``; None when the bulk API is not there for us (close one by one)."""
    try:
        result = jira.bulk_transition(keys, transition, poll_every=poll_every)
    except (JiraNotFound, JiraForbidden):
        return None  # Data Center, or no bulk-change permission: per-issue calls still work
    key_of = {issue_id: key for key, issue_id in ids.items()}
    outcomes = {key_of[i]: Outcome(key_of[i], True, "bulk") for i in result.done_ids if i in key_of}
    for issue_id, reasons in result.failed.items():
        key = key_of.get(issue_id)
        if key is not None:
            outcomes[key] = Outcome(key, False, "; ".join(reasons) or "refused by Jira", "bulk")
    for key in keys:  # Jira reports inaccessible issues in neither list
        outcomes.setdefault(key, Outcome(key, False, "Jira did not report this issue as moved", "bulk"))
    return outcomes


def transition_one(jira: JiraClient, own: Mapping[str, WorkflowTemplate]) -> Callable[[str], str]:
    """Moves one ticket to the last phase of its own template (``own[key]``)."""
    def work(key: str) -> str:
        transition = done_transition(jira, key, own[key])
        if transition is None:
            # A retry after a timeout may find it already moved: that is success, not a failure.
            if is_closed(jira.get_issue(key), own[key]):
                return "already closed"
            raise JiraError(f"Jira allows no move to Done for {key} now", status=409)
        jira.transition(key, transition)
        return "moved"
    return work
