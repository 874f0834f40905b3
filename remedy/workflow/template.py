"""The workflow template (YAML): ordered phases, their Jira statuses, suggested next actions."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator


class WorkflowError(Exception):
    """workflow.yml is unreadable or inconsistent; the message says where."""


class Phase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    jira_status: str
    suggest: list[str] = []


class WorkflowTemplate(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    phases: list[Phase]

    @model_validator(mode="after")
    def _unique(self) -> WorkflowTemplate:
        names = [p.name.lower() for p in self.phases]
        if len(set(names)) != len(names):
            raise ValueError("phase names must be unique")
        if not self.phases:
            raise ValueError("at least one phase is needed")
        return self

    def phase_for_status(self, status: str) -> Phase | None:
        """The phase a Jira status belongs to (case-insensitive); None for foreign statuses."""
        low = status.lower()
        return next((p for p in self.phases if p.jira_status.lower() == low), None)

    def next_phase(self, phase: Phase) -> Phase | None:
        idx = self.phases.index(phase)
        return self.phases[idx + 1] if idx + 1 < len(self.phases) else None


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
