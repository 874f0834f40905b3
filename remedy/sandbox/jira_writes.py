"""Write endpoints of the Jira simulator: validate as Jira does, change :class:`JiraState`, answer.

Each handler raises :class:`JiraProblem` for a refusal; the app renders it. Validation happens before
any change, so a 400 leaves the issue exactly as it was (Jira edits are all-or-nothing too).
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Callable
from typing import Any, TypeVar

from werkzeug.wrappers import Request, Response

from remedy.sandbox import seed
from remedy.sandbox.jira_fields import SETTERS, Setter, cannot_set, comment_body, entity_properties, field_setters
from remedy.sandbox.jira_render import (
    API,
    Json,
    attachment_json,
    base_url,
    bulk_progress_json,
    comment_json,
    json_response,
    no_content,
)
from remedy.sandbox.jira_state import TOUCHED, JiraProblem, JiraState
from remedy.sandbox.seed import IssueRecord

T = TypeVar("T")
_NO_LINK = "No Link Issue Permission for issue '{key}'."
# Status and wording when state.forbid refuses a write: the spec documents transitions refused with 400
# and links with 404 ("the user does not have link issues permission"); the rest answer 403.
DENIED = {
    "edit": (403, "You do not have permission to edit issues in this project."),
    "transition": (400, "You do not have permission to transition this issue."),
    "comment": (403, "You do not have the permission to comment on this issue."),
    "assign": (403, "You do not have permission to assign issues."),
    "watchers": (403, "You do not have the permission to manage the watcher list."),
    "subtask": (403, "You do not have permission to create subtasks for this issue."),
    "attach": (403, "You do not have permission to create attachments for this issue."),
}
_MAX_FILES = 60  # addAttachment: "more than 60 files are requested to be uploaded" is a 413


def json_body(request: Request) -> Any:
    raw = request.get_data(as_text=True)
    if not raw.strip():
        raise JiraProblem(400, "No content to map due to end-of-input")
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:  # Jira's JSON layer (Jackson) answers in its own words
        raise JiraProblem(400, f"Unexpected character: {exc.msg} at position {exc.pos}") from None


def object_body(request: Request) -> Json:
    body = json_body(request)
    if not isinstance(body, dict):
        raise JiraProblem(400, "Can not deserialize instance of a JSON object out of a non-object token")
    return body


def touch(request: Request, *issues: IssueRecord) -> None:
    """Note the issues a request changed, so ``state.writes(key)`` finds it."""
    request.environ.setdefault(TOUCHED, []).extend(issue.key for issue in issues)


def add_comment(state: JiraState, request: Request, args: dict[str, str]) -> Response:
    issue = state.require(args["id_or_key"], "POST", DENIED["comment"])
    body = object_body(request)
    doc, properties = comment_body(body.get("body")), entity_properties(body.get("properties"))
    comment = state.add_comment(issue, doc, properties)
    shown = comment_json(state, base_url(request), issue, comment, request.args.get("expand", ""))
    return json_response(shown, 201)


def add_attachments(state: JiraState, request: Request, args: dict[str, str]) -> Response:
    """``addAttachment``: multipart parts named ``file``; Jira's XSRF filter answers first, in plain text."""
    if request.headers.get("X-Atlassian-Token", "").lower() not in ("no-check", "nocheck"):
        return Response("XSRF check failed", status=403, mimetype="text/plain")
    if request.mimetype != "multipart/form-data":
        raise JiraProblem(415, "Attachments must be sent as multipart/form-data.")
    issue = state.require(args["id_or_key"], "POST", DENIED["attach"])
    parts = request.files.getlist("file")  # parts under any other name are ignored: Jira answers []
    if len(parts) > _MAX_FILES:
        raise JiraProblem(413, f"You can attach at most {_MAX_FILES} files at once.")
    added = []
    for part in parts:
        name = part.filename or "attachment"
        mime = part.mimetype or mimetypes.guess_type(name)[0] or "application/octet-stream"
        added.append(state.attach(issue, name, mime, part.read()))
    base = base_url(request)
    return json_response([attachment_json(state, base, a) for a in added])


def do_transition(state: JiraState, request: Request, args: dict[str, str]) -> Response:
    issue = state.require(args["id_or_key"], "POST", DENIED["transition"])
    body = object_body(request)
    wanted = body.get("transition")
    ident = wanted.get("id") if isinstance(wanted, dict) else None
    if ident in (None, ""):
        raise JiraProblem(400, "Missing 'transition' identifier")
    # No transition here has a screen: fields cannot be set, but a comment may ride along, as in Jira.
    fields, update = body.get("fields") or {}, body.get("update") or {}
    if not isinstance(fields, dict) or not isinstance(update, dict):
        raise JiraProblem(400, "'fields' and 'update' must be JSON objects.")
    update = dict(update)
    ops = update.pop("comment", [])
    adds = [op.get("add") if isinstance(op, dict) else None for op in (ops if isinstance(ops, list) else [None])]
    comments = [comment_body(add.get("body") if isinstance(add, dict) else None) for add in adds]
    if set(fields) | set(update):
        raise JiraProblem(400, errors={name: cannot_set(name) for name in {*fields, *update}})
    state.transition(issue, str(ident))
    for doc in comments:
        state.add_comment(issue, doc, [])
    return no_content()


def edit_issue(state: JiraState, request: Request, args: dict[str, str]) -> Response:
    issue = state.require(args["id_or_key"], "PUT", DENIED["edit"])
    body = object_body(request)
    setters = field_setters(state, body, set(SETTERS) - {"reporter"})
    for apply in setters:
        apply(issue)
    issue.updated = state.clock()
    return no_content()


# -- create (subtasks and other issues) ------------------------------------------------------------
def _issue_type(value: Any) -> str:
    if not isinstance(value, dict) or not ({"id", "name"} & set(value)):
        raise ValueError("Specify an issue type")
    by_id = {type_id: name for name, (type_id, _, _) in seed.ISSUE_TYPES.items()}
    name = by_id.get(str(value["id"])) if "id" in value else value.get("name")
    if name not in seed.ISSUE_TYPES:
        raise ValueError("The issue type selected is invalid.")
    return str(name)


def _parent(state: JiraState, value: Any, issue_type: str | None) -> IssueRecord | None:
    """The parent a new issue may have: one level up the hierarchy (Sub-task → Task/Story → Epic)."""
    if value is None:
        if issue_type is not None and seed.ISSUE_TYPES[issue_type][1]:
            raise ValueError("Issue type is a sub-task but parent issue key or id not specified.")
        return None
    wanted = (value.get("key") or value.get("id")) if isinstance(value, dict) else None
    parent = state.find_issue(str(wanted)) if wanted else None
    if parent is None or state.is_forbidden(parent, "GET"):
        raise ValueError("Could not find issue by id or key.")
    if issue_type is not None and seed.ISSUE_TYPES[parent.issue_type][2] != seed.ISSUE_TYPES[issue_type][2] + 1:
        raise ValueError("Given parent issue does not belong to appropriate hierarchy.")
    return parent


def _create_target(state: JiraState, fields: Json) -> tuple[str, IssueRecord | None]:
    """Project, issue type and parent of a new issue, with every problem reported at once."""
    errors: dict[str, str] = {}
    project = fields.get("project")
    wanted = (project.get("key") or project.get("id")) if isinstance(project, dict) else None
    if str(wanted).upper() not in (seed.PROJECT["key"], seed.PROJECT["id"]):
        errors["project"] = "Specify a valid project ID or key"
    issue_type, parent = None, None
    try:
        issue_type = _issue_type(fields.get("issuetype"))
    except ValueError as exc:
        errors["issuetype"] = str(exc)
    try:
        parent = _parent(state, fields.get("parent"), issue_type)
    except ValueError as exc:
        errors["parentId" if fields.get("parent") is None else "parent"] = str(exc)
    if "summary" not in fields:
        errors["summary"] = "You must specify a summary of the issue."
    if errors or issue_type is None:
        raise JiraProblem(400, errors=errors)
    return issue_type, parent


def _gather(errors: dict[str, str], step: Callable[[], T]) -> T | None:
    """Run one validation step, keeping its field errors so that one 400 can name every bad field."""
    try:
        return step()
    except JiraProblem as problem:
        if problem.messages:
            raise
        errors.update(problem.errors)
        return None


def _create_plan(state: JiraState, body: Json, fields: Json) -> tuple[str, IssueRecord | None, list[Setter]]:
    errors: dict[str, str] = {}
    target = _gather(errors, lambda: _create_target(state, fields))
    setters = _gather(errors, lambda: field_setters(state, body, set(SETTERS), skip=("project", "issuetype", "parent")))
    if errors or target is None or setters is None:
        raise JiraProblem(400, errors=errors)
    return target[0], target[1], setters


def create_issue(state: JiraState, request: Request, args: dict[str, str]) -> Response:
    body = object_body(request)
    fields = body.get("fields")
    if not isinstance(fields, dict):
        raise JiraProblem(400, errors={"summary": "You must specify a summary of the issue."})
    issue_type, parent, setters = _create_plan(state, body, fields)
    if parent is not None:
        touch(request, parent)
        if state.is_forbidden(parent, "POST"):
            raise JiraProblem(*DENIED["subtask"])
    record = state.new_issue(summary="", issue_type=issue_type, priority=seed.DEFAULT_PRIORITY,
                             reporter=state.myself_id, assignee=None,
                             parent_key=parent.key if parent else None)  # fmt: skip
    for apply in setters:
        apply(record)
    touch(request, record)
    created = {"id": record.id, "key": record.key, "self": f"{base_url(request)}{API}/issue/{record.id}"}
    return json_response(created, 201)


def assign(state: JiraState, request: Request, args: dict[str, str]) -> Response:
    issue = state.require(args["id_or_key"], "PUT", DENIED["assign"])
    body = object_body(request)
    if "accountId" not in body:
        raise JiraProblem(400, errors={"accountId": "An accountId must be provided (null to unassign)."})
    account_id = body["accountId"]
    # "-1" asks for the project's default assignee, which is "Unassigned" in the CPE project.
    state.assign(issue, None if account_id in (None, "-1") else str(account_id))
    return no_content()


# -- links -------------------------------------------------------------------------------------------
def _link_type(value: Any) -> str:
    wanted = (value.get("name") or value.get("id")) if isinstance(value, dict) else None
    for name, (type_id, _, _) in seed.LINK_TYPES.items():
        if wanted is not None and str(wanted).lower() in (name.lower(), type_id):
            return name
    raise JiraProblem(404, f"No issue link type with name '{wanted}' found.")


def _linked(state: JiraState, value: Any) -> IssueRecord:
    wanted = (value.get("key") or value.get("id")) if isinstance(value, dict) else None
    issue = state.find_issue(str(wanted)) if wanted else None
    if issue is None or state.is_forbidden(issue, "GET"):
        raise JiraProblem(404, "Issue Does Not Exist")
    return issue


def create_link(state: JiraState, request: Request, args: dict[str, str]) -> Response:
    """``inwardIssue`` A, ``outwardIssue`` B, type Blocks: A blocks B (API_NOTES)."""
    body = object_body(request)
    type_name = _link_type(body.get("type"))
    inward, outward = _linked(state, body.get("inwardIssue")), _linked(state, body.get("outwardIssue"))
    touch(request, inward, outward)
    for issue in (inward, outward):
        if state.is_forbidden(issue, "POST"):
            raise JiraProblem(404, _NO_LINK.format(key=issue.key))
    comment = body.get("comment")
    doc = comment_body(comment.get("body")) if isinstance(comment, dict) else None
    state.link(type_name, inward, outward)
    if doc is not None:  # the spec: "optionally add a comment to the from (outward) issue"
        state.add_comment(outward, doc, [])
    return Response(status=201)


def delete_link(state: JiraState, request: Request, args: dict[str, str]) -> Response:
    link = find_link(state, args["link_id"])
    ends = [state.issues[link.inward_key], state.issues[link.outward_key]]
    touch(request, *ends)
    for issue in ends:
        if state.is_forbidden(issue, "DELETE"):
            raise JiraProblem(404, _NO_LINK.format(key=issue.key))
    state.unlink(link)
    return no_content()


def find_link(state: JiraState, link_id: str) -> seed.LinkRecord:
    if not link_id.isdigit():
        raise JiraProblem(400, f"The issue link ID '{link_id}' is invalid.")
    link = next((lk for lk in state.links if lk.id == link_id), None)
    if link is None or any(state.is_forbidden(state.issues[k], "GET") for k in (link.inward_key, link.outward_key)):
        raise JiraProblem(404, f"No issue link with id '{link_id}' exists.")
    return link


# -- watchers ------------------------------------------------------------------------------------------
def _watcher(state: JiraState, account_id: Any) -> str:
    if not isinstance(account_id, str) or not account_id:
        raise JiraProblem(400, "The watcher must be given as a JSON string holding an accountId.")
    if account_id not in state.users:
        raise JiraProblem(404, f"The user with account ID '{account_id}' does not exist.")
    return account_id


def add_watcher(state: JiraState, request: Request, args: dict[str, str]) -> Response:
    issue = state.require(args["id_or_key"], "POST", DENIED["watchers"])
    # The body is a bare JSON string; no body at all means "the calling user".
    raw = request.get_data(as_text=True).strip()
    state.watch(issue, _watcher(state, json_body(request) if raw else state.myself_id))
    return no_content()


def remove_watcher(state: JiraState, request: Request, args: dict[str, str]) -> Response:
    issue = state.require(args["id_or_key"], "DELETE", DENIED["watchers"])
    if not request.args.get("accountId"):
        raise JiraProblem(400, "The accountId query parameter must be provided.")
    state.unwatch(issue, _watcher(state, request.args["accountId"]))
    return no_content()


# -- bulk ------------------------------------------------------------------------------------------------
def _bulk_inputs(raw: Any) -> list[tuple[list[str], str]]:
    """``bulkTransitionInputs`` as (issue ids or keys, transition id) pairs, or a 400."""
    inputs = raw if isinstance(raw, list) and raw else [None]
    pairs = []
    for entry in inputs:
        keys = entry.get("selectedIssueIdsOrKeys") if isinstance(entry, dict) else None
        ident = entry.get("transitionId") if isinstance(entry, dict) else None
        if not isinstance(keys, list) or not keys or not isinstance(ident, str):
            raise JiraProblem(400, "bulkTransitionInputs must list selectedIssueIdsOrKeys and a transitionId.")
        pairs.append(([str(key) for key in keys], ident))
    return pairs


def bulk_transition(state: JiraState, request: Request, args: dict[str, str]) -> Response:
    """Answered with the bulk API's ``{"errors": [{"message"}]}`` body (the app picks it by endpoint)."""
    inputs = _bulk_inputs(object_body(request).get("bulkTransitionInputs"))
    chosen = [([state.find_issue(k) for k in keys], ident) for keys, ident in inputs]
    if any(issue is None for issues, _ in chosen for issue in issues):
        raise JiraProblem(400, "Some of the issues in the issueIdsOrKeys are not valid")
    if sum(len(issues) for issues, _ in chosen) > 1000:
        raise JiraProblem(400, "You can bulk transition up to 1000 issues at a time.")
    found = [([i for i in issues if i is not None], ident) for issues, ident in chosen]
    touch(request, *(issue for issues, _ in found for issue in issues))
    return json_response({"taskId": state.bulk_transition(found).task_id}, 201)


def bulk_progress(state: JiraState, request: Request, args: dict[str, str]) -> Response:
    task = state.bulk_tasks.get(args["task_id"])
    if task is None:
        raise JiraProblem(400, f"Task with id '{args['task_id']}' was not found.")
    task.polls += 1
    return json_response(bulk_progress_json(task))
