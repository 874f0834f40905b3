"""Load and query ``team.yml`` (shipped default, overridable in ``REMEDY_CONFIG_DIR``).

The directory is small and read once per process, so lookups are in-memory and safe to use in
a Slack listener before acking.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

RoleName = Literal["viewer", "engineer", "lead", "admin"]
ROLE_ORDER: tuple[RoleName, ...] = ("viewer", "engineer", "lead", "admin")


class TeamConfigError(Exception):
    """team.yml is missing, unreadable or inconsistent; the message says where."""


class Person(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    handle: str
    name: str
    slack_id: str | None = None
    email: str | None = None
    jira_account_id: str | None = None
    role: RoleName = "engineer"
    manager: str | None = None
    timezone: str = "UTC"


class Group(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    members: list[str]
    jira_component: str | None = None
    jira_group: str | None = None
    slack_channel: str | None = None


class Escalation(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")

    default: str = "manager"


class TeamFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    people: list[Person]
    groups: list[Group] = []
    escalation: Escalation = Escalation()

    @model_validator(mode="after")
    def _consistent(self) -> TeamFile:
        handles = [p.handle for p in self.people]
        dupes = {h for h in handles if handles.count(h) > 1}
        if dupes:
            raise ValueError(f"duplicate handles: {', '.join(sorted(dupes))}")
        known = set(handles)
        for p in self.people:
            if p.manager and p.manager not in known:
                raise ValueError(f"{p.handle}: manager {p.manager!r} is not in people")
        for g in self.groups:
            unknown = [m for m in g.members if m not in known]
            if unknown:
                raise ValueError(f"group {g.name}: unknown members {', '.join(unknown)}")
        return self


@dataclass(frozen=True)
class Resolution:
    """The outcome of looking a name up: one person, or candidates to ask about."""

    person: Person | None = None
    group: Group | None = None
    candidates: tuple[Person, ...] = field(default_factory=tuple)


class Directory:
    def __init__(self, team: TeamFile, source: str = "team.yml") -> None:
        self.team = team
        self.source = source
        self._by_handle = {p.handle.lower(): p for p in team.people}
        self._by_slack = {p.slack_id: p for p in team.people if p.slack_id}
        self._by_email = {p.email.lower(): p for p in team.people if p.email}
        self._groups = {g.name.lower(): g for g in team.groups}

    @property
    def people(self) -> list[Person]:
        return list(self.team.people)

    def by_slack_id(self, slack_id: str) -> Person | None:
        return self._by_slack.get(slack_id)

    def by_handle(self, handle: str) -> Person | None:
        return self._by_handle.get(handle.lower().lstrip("@"))

    def role_of(self, slack_id: str) -> RoleName:
        person = self._by_slack.get(slack_id)
        return person.role if person else "viewer"

    def manager_of(self, person: Person) -> Person | None:
        return self.by_handle(person.manager) if person.manager else None

    def group(self, name: str) -> Group | None:
        return self._groups.get(name.lower())

    def resolve(self, text: str) -> Resolution:
        """Find a person or group by Slack id, handle, email or (part of) the name."""
        raw = text.strip().lstrip("@")
        low = raw.lower()
        exact = self._by_slack.get(raw) or self._by_handle.get(low) or self._by_email.get(low)
        if exact:
            return Resolution(person=exact)
        if low in self._groups:
            return Resolution(group=self._groups[low])
        matches = tuple(p for p in self.team.people if _name_matches(p, low))
        if len(matches) == 1:
            return Resolution(person=matches[0])
        return Resolution(candidates=matches)


def _name_matches(person: Person, low: str) -> bool:
    words = person.name.lower().split() + person.handle.lower().replace(".", " ").split()
    return low == person.name.lower() or low in words


def _read(path: Path | None) -> tuple[str, str]:
    if path is not None and (path / "team.yml").is_file():
        p = path / "team.yml"
        return p.read_text(encoding="utf-8"), str(p)
    res = files("remedy") / "defaults" / "team.yml"
    return res.read_text(encoding="utf-8"), "remedy/defaults/team.yml (shipped example)"


def load_directory(config_dir: Path | None = None) -> Directory:
    """Read team.yml from ``config_dir`` if it has one, else the shipped example."""
    text, source = _read(config_dir)
    try:
        data = yaml.safe_load(text)
        return Directory(TeamFile.model_validate(data), source)
    except yaml.YAMLError as exc:
        raise TeamConfigError(f"{source}: not valid YAML ({exc})") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise TeamConfigError(f"{source}: {where}: {first['msg']}") from None
