"""The workflow template (YAML): ordered phases, their Jira statuses, subtasks on entry, exit
checks, suggested next actions, and the P1..P4 → Jira priority mapping."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

# Checks a phase can demand before a ticket leaves it (evaluated in remedy.workflow.moves).
ExitCheck = Literal["subtasks_done", "no_open_blockers"]


class WorkflowError(Exception):
    """workflow.yml is unreadable or inconsistent; the message says where."""


class Phase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    jira_status: str
    subtasks: list[str] = []
    exit_checks: list[ExitCheck] = []
    suggest: list[str] = []


class WorkflowTemplate(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    phases: list[Phase]
    priorities: dict[str, str] = {"P1": "Highest", "P2": "High", "P3": "Medium", "P4": "Low"}

    @model_validator(mode="after")
    def _consistent(self) -> WorkflowTemplate:
        if not self.phases:
            raise ValueError("at least one phase is needed")
        names = [p.name.lower() for p in self.phases]
        if len(set(names)) != len(names):
            raise ValueError("phase names must be unique")
        statuses = [p.jira_status.lower() for p in self.phases]
        if len(set(statuses)) != len(statuses):
            raise ValueError("each phase needs its own Jira status")
        return self

    def phase(self, name: str) -> Phase | None:
        low = name.lower()
        return next((p for p in self.phases if p.name.lower() == low), None)

    def phase_for_status(self, status: str) -> Phase | None:
        """The phase a Jira status belongs to (case-insensitive); None for foreign statuses."""
        low = status.lower()
        return next((p for p in self.phases if p.jira_status.lower() == low), None)

    def next_phase(self, phase: Phase) -> Phase | None:
        idx = self.phases.index(phase)
        return self.phases[idx + 1] if idx + 1 < len(self.phases) else None

    def path(self, start: Phase, target: Phase) -> list[Phase]:
        """The phases a ticket passes through from ``start`` to ``target`` (excluding start),
        in order, backwards too; moving several phases at once walks this path."""
        i, j = self.phases.index(start), self.phases.index(target)
        if j >= i:
            return self.phases[i + 1: j + 1]
        return self.phases[j:i][::-1]

    def jira_priority(self, typed: str) -> str:
        """P1..P4 (or a Jira name typed directly) → the Jira priority name."""
        return self.priorities.get(typed.upper(), typed.capitalize())


def load_workflow(config_dir: Path | None = None) -> WorkflowTemplate:
    """Read workflow.yml from ``config_dir`` if present, else the shipped default."""
    if config_dir is not None and (config_dir / "workflow.yml").is_file():
        path = config_dir / "workflow.yml"
        text, source = path.read_text(encoding="utf-8"), str(path)
    else:
        text = (files("remedy") / "defaults" / "workflow.yml").read_text(encoding="utf-8")
        source = "remedy/defaults/workflow.yml"
    try:
        return WorkflowTemplate.model_validate(yaml.safe_load(text))
    except yaml.YAMLError as exc:
        raise WorkflowError(f"{source}: not valid YAML ({exc})") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        raise WorkflowError(f"{source}: {'.'.join(map(str, first['loc']))}: {first['msg']}") from None
