"""Several workflow templates, one per kind of ticket: ``workflow.yml`` is the default, and each file in
``REMEDY_CONFIG_DIR/workflows/`` a team's own (phases, subtasks, exit checks, rings) with a ``match:``
saying which tickets it is for — by Jira project, issue type or label. The first match in file-name
order wins, so ``10-security.yml`` comes before ``20-apps.yml``; a ticket nothing matches uses the default.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from remedy.jira.models import Issue
from remedy.workflow.template import Phase, WorkflowError, WorkflowTemplate, load_workflow

FOLDER = "workflows"

# Which of a template's phases a view looks at; the same filter is applied to every template.
PhaseFilter = Callable[[WorkflowTemplate], Sequence[Phase]]


def every_phase(template: WorkflowTemplate) -> Sequence[Phase]:
    return template.phases


def open_phases(template: WorkflowTemplate) -> Sequence[Phase]:
    """Every phase but the last (done)."""
    return template.phases[:-1]


def rolling_phases(template: WorkflowTemplate) -> Sequence[Phase]:
    """From the pilot phase up to (not including) the last: the remediations that are rolling out."""
    pilot = template.phase(template.pilot_phase)
    start = template.phases.index(pilot) if pilot is not None else len(template.phases)
    return template.phases[start:-1]


@dataclass(frozen=True)
class Workflows:
    default: WorkflowTemplate
    teams: tuple[WorkflowTemplate, ...] = ()

    def for_issue(self, issue: Issue) -> WorkflowTemplate:
        project = issue.key.split("-", 1)[0]
        return next((t for t in self.teams if t.match is not None
                     and t.match.matches(project, issue.issue_type, issue.labels)), self.default)

    def all(self) -> tuple[WorkflowTemplate, ...]:
        return (self.default, *self.teams)

    def statuses(self, phases: PhaseFilter = every_phase) -> list[str]:
        """The Jira statuses of the chosen phases of every template, each once, the default's first:
        what a search must ask for before each ticket found is classified by its own template."""
        found: dict[str, str] = {}
        for template in self.all():
            for phase in phases(template):
                found.setdefault(phase.jira_status.casefold(), phase.jira_status)
        return list(found.values())

    def phase_of(self, issue: Issue) -> Phase | None:
        """The phase the ticket is in by its own template; None for a status that template lacks."""
        return self.for_issue(issue).phase_for_status(issue.status)

    def in_phases(self, issue: Issue, phases: PhaseFilter) -> bool:
        """Whether the ticket's status is one of the chosen phases of its own template (another
        template's status the search also asked for does not count)."""
        low = issue.status.casefold()
        return any(p.jira_status.casefold() == low for p in phases(self.for_issue(issue)))

    def targets(self, issues: Sequence[Issue]) -> dict[str, float]:
        """Each ticket's compliance target: the last ring's threshold of its own template."""
        return {i.key: self.for_issue(i).rings[-1].threshold for i in issues}


def template_files(config_dir: Path | None) -> list[Path]:
    folder = config_dir / FOLDER if config_dir is not None else None
    return sorted(folder.glob("*.y*ml")) if folder is not None and folder.is_dir() else []


def _load_one(path: Path) -> WorkflowTemplate:
    try:
        template = WorkflowTemplate.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except yaml.YAMLError as exc:
        raise WorkflowError(f"{path}: not valid YAML ({exc})") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        raise WorkflowError(f"{path}: {'.'.join(map(str, first['loc']))}: {first['msg']}") from None
    if template.match is None:
        raise WorkflowError(f"{path}: a team template needs `match:` (projects, issue_types or labels)")
    return template


def load_workflows(config_dir: Path | None = None) -> Workflows:
    """The default template and every team template; names must be unique (answers name them)."""
    default = load_workflow(config_dir)
    teams = tuple(_load_one(path) for path in template_files(config_dir))
    names = [t.name.casefold() for t in (default, *teams)]
    if len(set(names)) != len(names):
        raise WorkflowError(f"workflow template names must be unique: {', '.join(t.name for t in (default, *teams))}")
    return Workflows(default, teams)
