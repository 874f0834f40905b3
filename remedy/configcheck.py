"""`remedy config check`: every YAML file remedy reads from ``REMEDY_CONFIG_DIR`` validated at once, each
problem with its file and line, before a bad edit reaches a running bot (which would stop at start).

A file the directory does not have is checked in its shipped default form, so the check also says which
defaults are in use. A ``.yml``/``.yaml`` file remedy does not read is reported: usually a typo.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from remedy.commands.catalog import CATALOG
from remedy.insights.settings import InsightSettings
from remedy.team.directory import TeamFile
from remedy.team.roles import FILE as ROLES_FILE
from remedy.team.roles import RoleRules
from remedy.team.roles import problems as mapping_problems
from remedy.workflow.priority import PriorityRules
from remedy.workflow.template import WorkflowError, WorkflowTemplate
from remedy.workflow.templates import load_workflows, template_files
from remedy.yaml_lines import line_of, read_config


@dataclass(frozen=True)
class Problem:
    source: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.source}" + (f":{self.line}" if self.line else "") + f": {self.message}"


@dataclass(frozen=True)
class Checked:
    sources: list[str]
    problems: list[Problem]


# file → the model it must validate against
_FILES: dict[str, type[BaseModel]] = {"workflow.yml": WorkflowTemplate, "priority.yml": PriorityRules,
                                      "team.yml": TeamFile, "insights.yml": InsightSettings}


def _read(config_dir: Path | None, name: str) -> tuple[str, str]:
    text, source = read_config(config_dir, name)
    return text, source + (" (shipped)" if source.startswith("remedy/defaults/") else "")


def check_text(text: str, source: str, model: type[BaseModel]) -> list[Problem]:
    """Every problem pydantic finds in one file, each at the line of the value it is about."""
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return [Problem(source, mark.line + 1 if mark else None, f"not valid YAML: {getattr(exc, 'problem', exc)}")]
    try:
        model.model_validate(data)
    except ValidationError as exc:
        return [_problem(text, source, e) for e in exc.errors()]
    return []


def _problem(text: str, source: str, error: Any) -> Problem:
    # A check across the file (a manager who is nobody) raises with the path of the value it is about.
    cause = (error.get("ctx") or {}).get("error")
    path = tuple(getattr(cause, "path", ()) or error["loc"])
    message = str(cause) if hasattr(cause, "path") else error["msg"]
    where = ".".join(map(str, path))
    return Problem(source, line_of(text, path) if path else None, (f"{where}: " if where else "") + message)


def _role_mappings(config_dir: Path | None) -> tuple[str, list[Problem]]:
    """roles.yml against team.yml's groups and the commands' default roles (mappings only raise)."""
    text, source = _read(config_dir, ROLES_FILE)
    found = check_text(text, source, RoleRules)
    if found:
        return source, found
    try:
        team = TeamFile.model_validate(yaml.safe_load(_read(config_dir, "team.yml")[0]))
    except (yaml.YAMLError, ValidationError):
        return source, []  # team.yml's own problems are listed with it
    defaults = {name: spec.role.name.lower() for name, spec in CATALOG.items()}
    rules = RoleRules.model_validate(yaml.safe_load(text))
    return source, [Problem(source, line_of(text, path), message)
                    for path, message in mapping_problems(rules, {g.name.lower() for g in team.groups}, defaults)]


def _team_templates(config_dir: Path | None, default_ok: bool) -> list[Problem]:
    """workflows/*.yml: each a whole template with a `match:`; names unique across all templates."""
    problems: list[Problem] = []
    for path in template_files(config_dir):
        text = path.read_text(encoding="utf-8")
        found = check_text(text, str(path), WorkflowTemplate)
        if not found and "match" not in (yaml.safe_load(text) or {}):
            found = [Problem(str(path), 1, "a team template needs `match:` (projects, issue_types or labels)")]
        problems += found
    if not problems and default_ok:  # the names check loads workflow.yml too
        try:
            load_workflows(config_dir)
        except WorkflowError as exc:
            problems.append(Problem("workflow templates", None, str(exc)))
    return problems


def check(config_dir: Path | None) -> Checked:
    sources: list[str] = []
    problems: list[Problem] = []
    for name, model in _FILES.items():
        text, source = _read(config_dir, name)
        sources.append(source)
        problems += check_text(text, source, model)
    roles_source, role_problems = _role_mappings(config_dir)
    sources.append(roles_source)
    problems += role_problems
    default_ok = not any(p.source.endswith("workflow.yml") or "workflow.yml (" in p.source for p in problems)
    problems += _team_templates(config_dir, default_ok)
    if config_dir is not None:
        known = {*_FILES, ROLES_FILE}
        problems += [Problem(str(p), None, "remedy does not read this file (a typo of "
                                           f"{', '.join(sorted(_FILES))}?)")
                     for p in sorted(config_dir.glob("*.y*ml")) if p.name not in known]
    return Checked(sources, problems)
