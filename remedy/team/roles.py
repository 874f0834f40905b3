"""Role mappings (``roles.yml``): a role for every member of a team.yml group, and commands a team wants
stricter than remedy's default. Both only ever raise the role needed or held by someone in a group;
remedy's defaults stay the floor, so a mapping can't open a lead-only action to engineers.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from remedy.yaml_lines import line_of, load_config, read_config

RoleName = str  # checked against ROLE_ORDER below (team.directory's names)
ROLE_ORDER = ("viewer", "engineer", "lead", "admin")
FILE = "roles.yml"


class RolesError(Exception):
    """roles.yml is unreadable or names what does not exist; the message says where."""


class RoleRules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    groups: dict[str, str] = {}
    commands: dict[str, str] = {}


def problems(rules: RoleRules, groups: set[str], defaults: dict[str, str]) -> Iterator[tuple[tuple[str, ...], str]]:
    """(path in roles.yml, what is wrong) for every mapping that names nothing or lowers a role;
    ``defaults`` maps each command to remedy's own role for it."""
    for part, mapping in (("groups", rules.groups), ("commands", rules.commands)):
        for name, role in mapping.items():
            if role not in ROLE_ORDER:
                yield (part, name), f"{name}: {role!r} is not a role ({', '.join(ROLE_ORDER)})"
            elif part == "groups" and name.lower() not in groups:
                yield (part, name), f"{name!r} is not a group in team.yml"
            elif part == "commands" and name not in defaults:
                yield (part, name), f"{name!r} is not a remedy command (see `help`)"
            elif part == "commands" and ROLE_ORDER.index(role) < ROLE_ORDER.index(defaults[name]):
                yield (part, name), (f"{name}: {role} is less than remedy's default ({defaults[name]}); "
                                     "mappings can only ask for more")


def load_roles(config_dir: Path | None, groups: set[str], defaults: dict[str, str]) -> RoleRules:
    rules = load_config(config_dir, FILE, RoleRules, RolesError)
    found = next(problems(rules, groups, defaults), None)
    if found is not None:
        text, source = read_config(config_dir, FILE)
        line = line_of(text, found[0])
        raise RolesError(f"{source}" + (f", line {line}" if line else "") + f": {found[1]}")
    return rules


def highest(*roles: str) -> str:
    return max(roles, key=ROLE_ORDER.index)
