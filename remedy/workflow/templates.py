"""Several workflow templates, one per kind of ticket: ``workflow.yml`` is the default, and each file in
``REMEDY_CONFIG_DIR/workflows/`` a team's own (phases, subtasks, exit checks, rings) with a ``match:``
saying which tickets it is for — by Jira project, issue type or label. The first match in file-name
order wins, so ``10-security.yml`` comes before ``20-apps.yml``; a ticket nothing matches uses the default.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from remedy.jira.models import Issue
from remedy.workflow.template import WorkflowError, WorkflowTemplate, load_workflow

FOLDER = "workflows"


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
