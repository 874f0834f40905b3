"""Moving a ticket through the workflow: find each transition by target status among those Jira
allows now, check the exit rules of each phase left, create the target phase's subtasks once."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from weakref import WeakKeyDictionary

from remedy.actions import ActionLog
from remedy.errors import UserError
from remedy.jira.client import JiraClient
from remedy.jira.errors import JiraInvalid
from remedy.jira.models import Issue, Transition
from remedy.parallel import parallel
from remedy.workflow.template import Phase, WorkflowTemplate
from remedy.workflow.templates import Workflows

log = logging.getLogger("remedy.workflow")


@dataclass
class MoveResult:
    key: str
    start: str
    target: str
    passed: list[str] = field(default_factory=list)  # phases entered, in order
    subtasks_created: list[str] = field(default_factory=list)  # "CPE-3230 Check macOS compatibility"
    subtasks_existing: list[str] = field(default_factory=list)

    @property
    def moved(self) -> bool:
        return bool(self.passed)


def _current(issue: Issue, workflow: WorkflowTemplate) -> Phase:
    phase = workflow.phase_for_status(issue.status)
    if phase is None:
        raise UserError(f"{issue.key} is in Jira status “{issue.status}”, which the workflow "
                        f"'{workflow.name}' does not know; move it in Jira first.")
    return phase


# An exit check that needs more than the ticket (remedy's records, Jamf): given the ticket, the reasons it
# fails, [] when it passes. Commands that move tickets pass the ones they can evaluate to :func:`move`.
Gate = Callable[[Issue], list[str]]
Gates = Mapping[str, Gate]
# The checks that need a gate, and how to word one the moving command cannot evaluate.
GATED: dict[str, str] = {"package_validated": "a passing `validate package` (checked by `deploy pilot {key}`)"}


def check_exit(issue: Issue, phase: Phase, gates: Gates | None = None) -> None:
    """Refuse to leave ``phase`` while its exit checks fail, saying what is missing. A gated check without
    its gate fails closed: a command that cannot evaluate it does not get to skip it."""
    _ticket_checks(issue, phase)
    for check in phase.exit_checks:
        if check not in GATED:
            continue
        gate = (gates or {}).get(check)
        if gate is None:
            raise UserError(f"{issue.key} can't leave {phase.name} this way: it needs "
                            f"{GATED[check].format(key=issue.key)}.")
        failures = gate(issue)
        if failures:
            raise UserError(f"{issue.key} can't leave {phase.name}: {' '.join(failures)}")


def _ticket_checks(issue: Issue, phase: Phase) -> None:
    if "subtasks_done" in phase.exit_checks:
        open_ = [s for s in issue.subtasks if not s.done]
        if open_:
            names = ", ".join(f"{s.key} {s.summary}" for s in open_[:5])
            raise UserError(f"{issue.key} can't leave {phase.name}: {len(open_)} open subtask(s): {names}.")
    if "no_open_blockers" in phase.exit_checks:
        blockers = [link.other_key for link in issue.links if "blocked by" in link.phrase]
        if blockers:
            raise UserError(f"{issue.key} can't leave {phase.name}: blocked by {', '.join(blockers)}.")


# What Jira offered from each status, per client and workflow (project, issue type), learned from its
# answers: a walk through a status seen before posts the transition at once instead of asking first.
# Jira stays the judge: one it no longer allows there (a republished workflow, a condition on this
# issue) is answered 400, and the walk asks afresh.
_learned: WeakKeyDictionary[JiraClient, dict[tuple[str, str, str], list[Transition]]] = WeakKeyDictionary()
_learned_lock = threading.Lock()


def _where(issue: Issue, status: str) -> tuple[str, str, str]:
    return issue.key.split("-")[0], issue.issue_type.lower(), status.lower()


def _learn(jira: JiraClient, issue: Issue, status: str, allowed: list[Transition]) -> None:
    with _learned_lock:
        _learned.setdefault(jira, {})[_where(issue, status)] = allowed


def _remembered(jira: JiraClient, issue: Issue, status: str, phase: Phase) -> Transition | None:
    with _learned_lock:
        known = _learned.get(jira, {}).get(_where(issue, status), [])
    return _matching(known, phase)


def _matching(allowed: list[Transition], phase: Phase) -> Transition | None:
    return next((t for t in allowed if t.to_status.lower() == phase.jira_status.lower()), None)


def _hop(jira: JiraClient, issue: Issue, status: str, phase: Phase) -> None:
    """From ``status`` (where the walk just put the ticket) on to ``phase``."""
    known = _remembered(jira, issue, status, phase)
    if known is not None:
        try:
            jira.transition(issue.key, known.id)
            return
        except JiraInvalid:
            log.info("Jira refused remembered transition %s from %s; asking again", known.id, status)
    allowed = jira.transitions(issue.key)
    _learn(jira, issue, status, allowed)
    _step(jira, issue.key, phase, allowed)


def _step(jira: JiraClient, key: str, phase: Phase, allowed: list[Transition]) -> None:
    match = _matching(allowed, phase)
    if match is None:
        options = ", ".join(sorted({t.to_status for t in allowed})) or "none"
        raise UserError(f"Jira doesn't allow moving {key} to {phase.name} from where it is now. "
                        f"Possible moves: {options}.")
    jira.transition(key, match.id)


# Where `deploy pilot` moves a ticket: its own template's pilot phase, known once the ticket is read.
PILOT = ":pilot"


def read_for_move(jira: JiraClient, key: str) -> tuple[Issue, list[Transition]]:
    """The ticket and the transitions Jira allows now, fetched side by side."""
    issue, allowed = parallel([lambda: jira.get_issue(key), lambda: jira.transitions(key)])
    return issue, allowed


def move(jira: JiraClient, key: str, target_name: str, templates: WorkflowTemplate | Workflows,
         actions: ActionLog, command_id: str, gates: Gates | None = None) -> tuple[Issue, MoveResult]:
    """Walk ticket ``key`` to ``target_name`` (or the ticket's template's :data:`PILOT` phase) along the
    template the ticket follows. Safe to run again after a crash: the ticket is read afresh, so phases
    already passed are not passed again and subtasks are not created twice. ``gates`` evaluate the exit
    checks that need more than the ticket (see :data:`GATED`)."""
    issue, allowed = read_for_move(jira, key)
    workflow = templates.for_issue(issue) if isinstance(templates, Workflows) else templates
    wanted = workflow.pilot_phase if target_name == PILOT else target_name
    # People type the canonical phases, which are the default's Jira statuses: a team template that
    # renames a phase ("Canary" for Pilot) is reached through the Jira status it keeps.
    target = workflow.phase(wanted) or workflow.phase_for_status(wanted)
    if target is None:
        names = ", ".join(p.name for p in workflow.phases)
        raise UserError(f"“{wanted}” is not a phase of {issue.key}'s workflow “{workflow.name}” ({names}).")
    start = _current(issue, workflow)
    result = MoveResult(issue.key, start.name, target.name)
    leaving = start
    _learn(jira, issue, issue.status, allowed)
    for i, phase in enumerate(workflow.path(start, target)):
        if workflow.phases.index(phase) > workflow.phases.index(leaving):  # rules guard forward moves
            check_exit(issue, leaving, gates)
        if i == 0:
            _step(jira, issue.key, phase, allowed)
        else:
            _hop(jira, issue, leaving.jira_status, phase)
        result.passed.append(phase.name)
        leaving = phase
    _create_subtasks(jira, issue, target, actions, command_id, result)
    return issue.model_copy(update={"status": target.jira_status}), result


def _create_subtasks(jira: JiraClient, issue: Issue, phase: Phase, actions: ActionLog, command_id: str,
                     result: MoveResult) -> None:
    # The natural key of a phase subtask is its summary under the parent: a retried move (or a
    # second move into the phase) finds it instead of creating a twin.
    existing = {s.summary.lower(): s.key for s in issue.subtasks}
    result.subtasks_existing.extend(f"{existing[t.lower()]} {t}" for t in phase.subtasks if t.lower() in existing)
    todo = [t for t in phase.subtasks if t.lower() not in existing]

    def create(summary: str) -> Callable[[], str]:
        def once() -> str:
            return actions.run_once(
                f"{command_id}:subtask:{issue.key}:{summary.lower()}", "jira.subtask", issue.key,
                do=lambda: jira.create_subtask(issue.key, summary, labels=["remedy"]),
                recover=lambda: _find_subtask(jira, issue.key, summary)).external_id
        return once

    keys = parallel([create(summary) for summary in todo])  # independent writes: side by side
    result.subtasks_created.extend(f"{key} {summary}" for key, summary in zip(keys, todo, strict=True))


def _find_subtask(jira: JiraClient, parent: str, summary: str) -> str | None:
    fresh = jira.get_issue(parent)
    return next((s.key for s in fresh.subtasks if s.summary.lower() == summary.lower()), None)
