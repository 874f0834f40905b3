"""Field values as Jira validates them, shared by edit, create, comments and transitions.

A setter is built (and validated) first and applied later, so a request with any bad field changes
nothing: Jira's edits are all-or-nothing, and it reports every bad field at once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection
from datetime import date
from typing import Any

from remedy.sandbox import seed
from remedy.sandbox.jira_state import JiraProblem, JiraState
from remedy.sandbox.seed import IssueRecord

Json = dict[str, Any]
Setter = Callable[[IssueRecord], None]
_COMMENT_LIMIT = 32767  # characters, Jira Cloud's limit for a comment body
_NOT_ADF = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"


def is_adf(doc: Any) -> bool:
    return (isinstance(doc, dict) and doc.get("type") == "doc" and doc.get("version") == 1
            and isinstance(doc.get("content"), list) and all(isinstance(n, dict) for n in doc["content"]))  # fmt: skip


def comment_body(doc: Any) -> dict[str, Any]:
    if doc is None or doc == "" or (is_adf(doc) and not doc["content"]):
        raise JiraProblem(400, errors={"comment": "Comment body can not be empty!"})
    if not is_adf(doc):
        raise JiraProblem(400, errors={"comment": "Comment body is not valid!"})
    if len(json.dumps(doc)) > _COMMENT_LIMIT:
        limit = f"{_COMMENT_LIMIT:,}"
        raise JiraProblem(400, errors={"comment": f"The entered text is too long. It exceeds the allowed limit of "
                                                  f"{limit} characters."})  # fmt: skip
    return dict(doc)


def entity_properties(raw: Any) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(p, dict) and isinstance(p.get("key"), str) for p in raw):
        raise JiraProblem(400, "Entity properties must be a list of objects with a string 'key'.")
    return [{"key": p["key"], "value": p.get("value")} for p in raw]


def cannot_set(name: str) -> str:
    return f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."


# -- field setters shared by edit and create ---------------------------------------------------------
def _set_summary(state: JiraState, value: Any) -> Setter:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("You must specify a summary of the issue.")
    if len(value) > 255:
        raise ValueError("Summary must be less than 255 characters.")
    return lambda issue: setattr(issue, "summary", value.strip())


def _set_priority(state: JiraState, value: Any) -> Setter:
    if not isinstance(value, dict) or not ({"id", "name"} & set(value)):
        raise ValueError("Specify the Priority (id or name) in the string format")
    by_id = {ident: name for name, ident in seed.PRIORITIES.items()}
    name = by_id.get(str(value["id"])) if "id" in value else value["name"]
    if not isinstance(name, str) or name not in seed.PRIORITIES:
        raise ValueError("The priority selected is invalid.")
    return lambda issue: setattr(issue, "priority", name)


def _set_labels(state: JiraState, value: Any) -> Setter:
    if not isinstance(value, list) or not all(isinstance(label, str) and label for label in value):
        raise ValueError("Labels must be a list of non-empty strings.")
    spaced = next((label for label in value if re.search(r"\s", label)), None)
    if spaced is not None:
        raise ValueError(f"The label '{spaced}' contains spaces which is invalid.")
    return lambda issue: setattr(issue, "labels", list(dict.fromkeys(value)))


def _set_duedate(state: JiraState, value: Any) -> Setter:
    try:
        due = None if value is None else date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"Error parsing date string: {value}") from None
    return lambda issue: setattr(issue, "due_date", due)


def _set_description(state: JiraState, value: Any) -> Setter:
    if value is not None and not is_adf(value):
        raise ValueError(_NOT_ADF)
    return lambda issue: setattr(issue, "description", value)


def _person(state: JiraState, field_name: str, value: Any) -> str | None:
    account_id = value.get("accountId") if isinstance(value, dict) else None if value is None else ""
    if account_id is not None and account_id not in state.users:
        raise ValueError(f"User '{account_id}' cannot be assigned issues." if field_name == "assignee"
                         else f"Specify a valid value for {field_name}")  # fmt: skip
    return account_id


def _set_assignee(state: JiraState, value: Any) -> Setter:
    account_id = _person(state, "assignee", value)

    def apply(issue: IssueRecord) -> None:
        issue.assignee = account_id
        if account_id and account_id not in issue.watchers:
            issue.watchers.append(account_id)  # autowatch

    return apply


def _set_reporter(state: JiraState, value: Any) -> Setter:
    account_id = _person(state, "reporter", value)
    return lambda issue: setattr(issue, "reporter", account_id or state.myself_id)


SETTERS: dict[str, Callable[[JiraState, Any], Setter]] = {
    "summary": _set_summary, "priority": _set_priority, "labels": _set_labels, "duedate": _set_duedate,
    "description": _set_description, "assignee": _set_assignee, "reporter": _set_reporter,
}  # fmt: skip


def _label_ops(state: JiraState, ops: list[Any]) -> Setter:
    """``update.labels``: ``add``, ``remove`` and ``set`` operations, applied in order."""
    steps: list[Callable[[list[str]], list[str]]] = []
    for op in ops:
        if not isinstance(op, dict) or len(op) != 1 or next(iter(op)) not in ("add", "remove", "set"):
            raise ValueError("Labels support the operations add, remove and set, one per object.")
        (verb, value), = op.items()  # fmt: skip
        _set_labels(state, value if verb == "set" else [value])  # validates
        steps.append({"add": lambda ls, v=value: [*ls, v] if v not in ls else ls,
                      "remove": lambda ls, v=value: [x for x in ls if x != v],
                      "set": lambda ls, v=value: list(v)}[verb])  # fmt: skip

    def apply(issue: IssueRecord) -> None:
        for step in steps:
            issue.labels = step(issue.labels)

    return apply


def _update_op(state: JiraState, name: str, ops: Any) -> Setter:
    if not isinstance(ops, list):
        raise ValueError(f"Operations for field '{name}' must be a list.")
    if name == "labels":
        return _label_ops(state, ops)
    if len(ops) != 1 or not isinstance(ops[0], dict) or set(ops[0]) != {"set"}:
        raise ValueError(f"Field '{name}' supports only the 'set' operation.")
    return SETTERS[name](state, ops[0]["set"])


def field_setters(state: JiraState, body: Json, allowed: Collection[str], skip: Collection[str] = ()) -> list[Setter]:
    """Setters for ``fields`` and ``update``; every problem found is reported at once, as Jira does.

    ``skip`` names fields the caller handles itself (project, issuetype, parent on create).
    """
    fields, update = body.get("fields") or {}, body.get("update") or {}
    if not isinstance(fields, dict) or not isinstance(update, dict):
        raise JiraProblem(400, "'fields' and 'update' must be JSON objects.")
    setters: list[Setter] = []
    errors: dict[str, str] = {}
    for name in set(fields) & set(update):
        errors[name] = f"Field '{name}' cannot be set in both 'fields' and 'update'."
    entries = [("fields", n, v) for n, v in fields.items()] + [("update", n, v) for n, v in update.items()]
    for kind, name, value in entries:
        if name in errors or name in skip:
            continue
        if name not in allowed:
            errors[name] = cannot_set(name)
            continue
        try:
            setters.append(SETTERS[name](state, value) if kind == "fields" else _update_op(state, name, value))
        except ValueError as exc:
            errors[name] = str(exc)
    if errors:
        raise JiraProblem(400, errors=errors)
    return setters


