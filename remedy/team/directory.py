"""Load and query ``team.yml`` (shipped default, overridable in ``REMEDY_CONFIG_DIR``).

The directory is small and read once per process, so lookups are in-memory and safe to use in
a Slack listener before acking. Everything a later command relies on (managers, group leads,
escalation rules) is checked when the file is loaded, and a problem is reported with the line of
team.yml it is on, so a bad edit stops remedy at start instead of failing one escalation later.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Literal, cast

import yaml
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError, model_validator

from remedy.commands.catalog import CATALOG
from remedy.team.roles import RoleRules, RolesError, highest, load_roles
from remedy.yaml_lines import line_of

RoleName = Literal["viewer", "engineer", "lead", "admin"]
ROLE_ORDER: tuple[RoleName, ...] = ("viewer", "engineer", "lead", "admin")
# P1..P9: the levels a workflow maps to Jira priority names (workflow.yml `priorities`).
Level = Annotated[str, StringConstraints(pattern=r"^P[1-9]$")]
YamlPath = tuple[str | int, ...]


class TeamConfigError(Exception):
    """team.yml is missing, unreadable or inconsistent; the message says where."""


class _Problem(ValueError):
    """An inconsistency found after the fields parsed, with the path of the value at fault (so the
    error can name its line; pydantic only knows that the whole file is wrong)."""

    def __init__(self, path: YamlPath, message: str) -> None:
        super().__init__(message)
        self.path = path


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
    """A team people delegate to. ``assign`` says who gets a delegated ticket: the ``lead``, or the
    members in turn (``round-robin``; the turn is kept in the database, see remedy.team.escalation)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    members: list[str]
    lead: str | None = None
    assign: Literal["lead", "round-robin"] = "round-robin"
    jira_component: str | None = None
    jira_group: str | None = None
    slack_channel: str | None = None


class Escalation(BaseModel):
    """The escalation rules (see the commented example in remedy/defaults/team.yml).

    * ``default``: who ``escalate KEY`` goes to when no person is named: ``manager`` (the
      escalator's) or a handle.
    * ``chains``: per ticket priority, people in order; with no person named, a ticket at that
      priority goes to the next person in the chain above the escalator (the first one if the
      escalator is not in it). Wins over ``default``.
    * ``notify_manager_chain``: also send the escalator's managers, up to the top, an FYI DM.
    * ``raise_priority``: an escalated ticket is raised to at least this level (never lowered).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    default: str = "manager"
    notify_manager_chain: bool = False
    raise_priority: Level | None = None
    chains: dict[Level, list[str]] = {}


class TeamFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    people: list[Person]
    groups: list[Group] = []
    escalation: Escalation = Escalation()

    @model_validator(mode="after")
    def _consistent(self) -> TeamFile:
        for problem in _problems(self):
            raise problem
        return self


def _problems(team: TeamFile) -> Iterator[_Problem]:
    """Every reference by handle must name someone in ``people``; the first problem is reported."""
    handles = [p.handle for p in team.people]
    known = set(handles)
    for i, p in enumerate(team.people):
        if handles.count(p.handle) > 1:
            yield _Problem(("people", i, "handle"), f"duplicate handle {p.handle!r}")
        if p.manager and p.manager not in known:
            yield _Problem(("people", i, "manager"), f"{p.handle}: manager {p.manager!r} is not in people")
    yield from _manager_cycles(team)
    yield from _group_problems(team, known)
    yield from _escalation_problems(team.escalation, known)


def _manager_cycles(team: TeamFile) -> Iterator[_Problem]:
    # A cycle would make "the manager chain" endless; say which people form it.
    managers = {p.handle: p.manager for p in team.people}
    for i, p in enumerate(team.people):
        seen, at = [p.handle], p.manager
        while at is not None and at not in seen:
            seen.append(at)
            at = managers.get(at)
        if at == p.handle:
            yield _Problem(("people", i, "manager"), "managers form a loop: " + " → ".join([*seen, at]))


def _group_problems(team: TeamFile, known: set[str]) -> Iterator[_Problem]:
    names = [g.name.lower() for g in team.groups]
    for i, g in enumerate(team.groups):
        if names.count(g.name.lower()) > 1:
            yield _Problem(("groups", i, "name"), f"duplicate group {g.name!r}")
        if g.name in known:  # `delegate to X` must not have to guess between a person and a group
            yield _Problem(("groups", i, "name"), f"group {g.name!r} has the handle of a person")
        unknown = [m for m in g.members if m not in known]
        if unknown:
            yield _Problem(("groups", i, "members"), f"group {g.name}: unknown members {', '.join(unknown)}")
        if not g.members:
            yield _Problem(("groups", i, "members"), f"group {g.name}: no members")
        if g.lead is not None and g.lead not in known:
            yield _Problem(("groups", i, "lead"), f"group {g.name}: lead {g.lead!r} is not in people")
        if g.assign == "lead" and g.lead is None:
            yield _Problem(("groups", i, "assign"), f"group {g.name}: `assign: lead` needs a `lead:`")


def _escalation_problems(rules: Escalation, known: set[str]) -> Iterator[_Problem]:
    if rules.default != "manager" and rules.default not in known:
        yield _Problem(("escalation", "default"),
                       f"escalation default {rules.default!r} is neither `manager` nor a handle in people")
    for level, chain in rules.chains.items():
        for j, handle in enumerate(chain):
            if handle not in known:
                yield _Problem(("escalation", "chains", level, j),
                               f"escalation chain {level}: {handle!r} is not in people")
        if len(set(chain)) != len(chain):
            yield _Problem(("escalation", "chains", level), f"escalation chain {level} names someone twice")


@dataclass(frozen=True)
class Resolution:
    """The outcome of looking a name up: one person, or candidates to ask about."""

    person: Person | None = None
    group: Group | None = None
    candidates: tuple[Person, ...] = field(default_factory=tuple)


class Directory:
    def __init__(self, team: TeamFile, source: str = "team.yml", rules: RoleRules | None = None) -> None:
        self.team = team
        self.source = source
        self.rules = rules or RoleRules()
        self._by_handle = {p.handle.lower(): p for p in team.people}
        self._by_slack = {p.slack_id: p for p in team.people if p.slack_id}
        self._by_email = {p.email.lower(): p for p in team.people if p.email}
        self._groups = {g.name.lower(): g for g in team.groups}

    @property
    def people(self) -> list[Person]:
        return list(self.team.people)

    @property
    def escalation(self) -> Escalation:
        return self.team.escalation

    def by_slack_id(self, slack_id: str) -> Person | None:
        return self._by_slack.get(slack_id)

    def by_handle(self, handle: str) -> Person | None:
        return self._by_handle.get(handle.lower().lstrip("@"))

    def role_of(self, slack_id: str) -> RoleName:
        """The person's own role, raised by roles.yml for the groups they are in (members and lead)."""
        person = self._by_slack.get(slack_id)
        if person is None:
            return "viewer"
        handle = person.handle.lower()
        held = [role for name, role in self.rules.groups.items()
                if (group := self._groups.get(name.lower())) is not None
                and handle in {m.lower() for m in group.members} | {(group.lead or "").lower()}]
        return cast(RoleName, highest(person.role, *held))

    def command_role(self, command: str, default: str) -> str:
        """The role ``command`` needs here: remedy's ``default``, or more if roles.yml asks."""
        return highest(default, self.rules.commands.get(command, default))

    def manager_of(self, person: Person) -> Person | None:
        return self.by_handle(person.manager) if person.manager else None

    def manager_chain(self, person: Person) -> list[Person]:
        """The person's manager, that manager's manager, … to the top (loops are refused at load)."""
        chain: list[Person] = []
        at = self.manager_of(person)
        while at is not None and at not in chain and at != person:
            chain.append(at)
            at = self.manager_of(at)
        return chain

    def group(self, name: str) -> Group | None:
        return self._groups.get(name.lower().lstrip("@"))

    def members(self, group: Group) -> list[Person]:
        return [p for p in (self.by_handle(h) for h in group.members) if p is not None]

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


def _where(text: str, source: str, path: YamlPath) -> str:
    line = line_of(text, path) if path else None
    dotted = ".".join(str(p) for p in path)
    return f"{source}" + (f", line {line}" if line else "") + (f" ({dotted})" if dotted else "")


def load_directory(config_dir: Path | None = None) -> Directory:
    """Read team.yml (and the role mappings of roles.yml) from ``config_dir`` if it has them, else the
    shipped examples."""
    team = _load_team(config_dir)
    defaults = {name: spec.role.name.lower() for name, spec in CATALOG.items()}
    try:
        rules = load_roles(config_dir, {g.name.lower() for g in team.team.groups}, defaults)
    except RolesError as exc:
        raise TeamConfigError(str(exc)) from None
    return Directory(team.team, team.source, rules)


def _load_team(config_dir: Path | None) -> Directory:
    text, source = _read(config_dir)
    try:
        data = yaml.safe_load(text)
        return Directory(TeamFile.model_validate(data), source)
    except yaml.YAMLError as exc:
        raise TeamConfigError(f"{source}: not valid YAML ({exc})") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        cause = (first.get("ctx") or {}).get("error")
        if isinstance(cause, _Problem):
            raise TeamConfigError(f"{_where(text, source, cause.path)}: {cause}") from None
        raise TeamConfigError(f"{_where(text, source, tuple(first['loc']))}: {first['msg']}") from None
