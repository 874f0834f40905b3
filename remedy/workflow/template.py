"""The workflow template (YAML): ordered phases, their Jira statuses, subtasks on entry, exit
checks, suggested next actions, and the P1..P4 → Jira priority mapping."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from remedy.yaml_lines import load_config

# Checks a phase can demand before a ticket leaves it (evaluated in remedy.workflow.moves). The first two
# read the ticket; package_validated (the latest `validate package` of the package the install policy
# holds now passed) needs remedy's records and Jamf, so the command moving the ticket supplies it.
ExitCheck = Literal["subtasks_done", "no_open_blockers", "package_validated"]


class WorkflowError(Exception):
    """workflow.yml is unreadable or inconsistent; the message says where."""


class Suggestion(BaseModel):
    """A phase-aware next step on the analysis card: what it is, and the command its button runs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str = Field(min_length=1, max_length=60)
    command: str = Field(min_length=1)


class Phase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    jira_status: str
    subtasks: list[str] = []
    exit_checks: list[ExitCheck] = []
    suggest: list[str] = []
    analysis: list[Suggestion] = []


class Ring(BaseModel):
    """One rollout ring: the Jamf group it adds to the policy's scope, and what it must show before
    the next ring may start (success rate among its Macs that have the app, and time soaked)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    label: str
    # Tried in order; "{app}" is the ticket's app name. The first group Jamf has is used.
    groups: list[str] = Field(min_length=1)
    threshold: float = Field(ge=0, le=100)  # percent
    soak_hours: float = Field(ge=0)


DEFAULT_RINGS = [
    Ring(name="pilot", label="Pilot", groups=["Pilot - {app}", "Pilot"], threshold=90, soak_hours=24),
    Ring(name="phase1", label="Phase 1", groups=["Phase 1"], threshold=95, soak_hours=24),
    Ring(name="phase2", label="Phase 2", groups=["Phase 2"], threshold=95, soak_hours=24),
    Ring(name="full", label="All Macs", groups=["All Managed Macs"], threshold=95, soak_hours=0),
]


class TemplateMatch(BaseModel):
    """Which tickets a team's template is for. Each list given must match (any one entry of it); a
    template in ``REMEDY_CONFIG_DIR/workflows/`` needs at least one list."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    projects: list[str] = []  # Jira project keys: CPE
    issue_types: list[str] = []  # Jira issue types: Bug, Story
    labels: list[str] = []  # any one of these labels on the ticket

    @model_validator(mode="after")
    def _something(self) -> TemplateMatch:
        if not (self.projects or self.issue_types or self.labels):
            raise ValueError("match needs projects, issue_types or labels")
        return self

    def matches(self, project: str, issue_type: str, labels: list[str]) -> bool:
        def hit(wanted: list[str], values: list[str]) -> bool:
            return not wanted or bool({w.casefold() for w in wanted} & {v.casefold() for v in values})

        return hit(self.projects, [project]) and hit(self.issue_types, [issue_type]) and hit(self.labels, labels)


class WorkflowTemplate(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    match: TemplateMatch | None = None  # only in workflows/*.yml: the tickets this template is for
    phases: list[Phase]
    priorities: dict[str, str] = {"P1": "Highest", "P2": "High", "P3": "Medium", "P4": "Low"}
    rings: list[Ring] = DEFAULT_RINGS
    # The phases a rollout moves the ticket into: deploying the first ring, and leaving it.
    pilot_phase: str = "Pilot"
    rollout_phase: str = "Rollout"

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
        rings = [r.name for r in self.rings]
        if not rings or len(set(rings)) != len(rings):
            raise ValueError("rings need at least one entry and unique names")
        for phase in (self.pilot_phase, self.rollout_phase):
            if self.phase(phase) is None:
                raise ValueError(f"{phase!r} (pilot_phase/rollout_phase) is not one of the phases")
        return self

    def ring(self, name: str) -> Ring | None:
        return next((r for r in self.rings if r.name == name), None)

    def ring_after(self, name: str) -> Ring | None:
        names = [r.name for r in self.rings]
        at = names.index(name) if name in names else -1
        return self.rings[at + 1] if 0 <= at < len(self.rings) - 1 else None

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
    return load_config(config_dir, "workflow.yml", WorkflowTemplate, WorkflowError)
