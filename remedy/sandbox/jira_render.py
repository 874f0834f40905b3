"""JSON shapes as Jira Cloud REST v3 sends them (IssueBean, Comment, IssueLink, Transitions…), and
the wire helpers every handler answers with. ``base`` is the host the client used, so ``self``
links point back at the simulator whichever way it is reached."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from remedy.sandbox import seed
from remedy.sandbox.seed import CommentRecord, IssueRecord, LinkRecord, Person, Transition

if TYPE_CHECKING:
    from remedy.sandbox.jira_state import AttachmentRecord, BulkTask, JiraProblem, JiraState

API = "/rest/api/3"
Json = dict[str, Any]
ALL_FIELDS = (
    "summary", "status", "priority", "assignee", "reporter", "labels", "issuetype", "project",
    "created", "updated", "duedate", "description", "parent", "subtasks", "issuelinks", "comment",
    "resolution", "resolutiondate", "watches", "attachment",
)  # fmt: skip


# -- wire helpers -----------------------------------------------------------------------------
def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(data), status=status, mimetype="application/json", headers=headers)


def error(status: int, *messages: str, headers: dict[str, str] | None = None) -> Response:
    return json_response({"errorMessages": list(messages), "errors": {}}, status, headers)


def problem_response(problem: JiraProblem, bulk: bool = False) -> Response:
    if bulk:
        # The bulk API has its own error body: {"errors": [{"message": …}]}.
        texts = [*problem.messages, *problem.errors.values()]
        return json_response({"errors": [{"message": text} for text in texts]}, problem.status)
    return json_response({"errorMessages": problem.messages, "errors": problem.errors}, problem.status)


def no_content(status: int = 204) -> Response:
    return Response(status=status)


def base_url(request: Request) -> str:
    # self links point back at whatever host the client used (127.0.0.1:port or an in-process name).
    return request.host_url.rstrip("/")


def ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


# -- resources ----------------------------------------------------------------------------------
def _res(base: str, kind: str, ident: Any, **values: Any) -> Json:
    """A Jira resource reference: its ``self`` URL, ``id`` and the given values."""
    return {"self": f"{base}{API}/{kind}/{ident}", "id": ident, **values}


def user_json(base: str, user: Person | None) -> Json | None:
    if user is None:
        return None
    return {"self": f"{base}{API}/user?accountId={user.account_id}", "accountId": user.account_id,
            "emailAddress": user.email, "displayName": user.display_name, "active": user.active,
            "timeZone": user.timezone, "accountType": "atlassian"}  # fmt: skip


def status_json(base: str, name: str) -> Json:
    status = seed.status(name)
    category = dict(seed.STATUS_CATEGORIES[status.category])
    return _res(base, "status", status.id, name=status.name, description="",
                iconUrl=f"{base}/images/icons/statuses/generic.png",
                statusCategory=_res(base, "statuscategory", category.pop("id"), **category))  # fmt: skip


def priority_json(base: str, name: str) -> Json:
    color, description = seed.PRIORITY_DETAILS[name]
    return _res(base, "priority", seed.PRIORITIES[name], name=name, iconUrl=f"{base}/images/icons/priorities/"
                f"{name.lower()}.svg", statusColor=color, description=description)  # fmt: skip


def _issuetype_json(base: str, name: str) -> Json:
    type_id, subtask, level = seed.ISSUE_TYPES[name]
    return _res(base, "issuetype", type_id, name=name, description="", subtask=subtask, hierarchyLevel=level,
                iconUrl=f"{base}/images/icons/issuetypes/{name.lower()}.svg")  # fmt: skip


def ref_json(base: str, issue: IssueRecord) -> Json:
    """An issue with summary, status, priority and issuetype: how Jira nests related issues."""
    fields = {"summary": issue.summary, "status": status_json(base, issue.status),
              "priority": priority_json(base, issue.priority),
              "issuetype": _issuetype_json(base, issue.issue_type)}
    return {**_res(base, "issue", issue.id, key=issue.key), "fields": fields}  # fmt: skip


def link_type_json(base: str, name: str) -> Json:
    type_id, inward, outward = seed.LINK_TYPES[name]
    return _res(base, "issueLinkType", type_id, name=name, inward=inward, outward=outward)


def link_json(state: JiraState, base: str, link: LinkRecord, seen_from: IssueRecord | None = None) -> Json:
    """GET issueLink shows both ends as POSTed; an issue's ``issuelinks`` shows only the other end.

    The blocker (inward_key) lists the other issue as outwardIssue: "CPE-3301 blocks CPE-3445".
    """
    ends = {"inwardIssue": link.inward_key, "outwardIssue": link.outward_key}
    if seen_from is not None:
        side = "outwardIssue" if seen_from.key == link.inward_key else "inwardIssue"
        ends = {side: ends[side]}
    nested = {side: ref_json(base, state.issues[key]) for side, key in ends.items()}
    return _res(base, "issueLink", link.id, type=link_type_json(base, link.type_name), **nested)


def comment_json(state: JiraState, base: str, issue: IssueRecord, comment: CommentRecord, expand: str = "") -> Json:
    author = user_json(base, state.users.get(comment.author))
    shown = _res(base, f"issue/{issue.id}/comment", comment.id, author=author, body=copy.deepcopy(comment.body),
                 updateAuthor=author, created=ts(comment.created), updated=ts(comment.updated or comment.created),
                 jsdPublic=True)  # fmt: skip
    if "properties" in expand.split(","):
        shown["properties"] = copy.deepcopy(comment.properties)
    return shown


def attachment_json(state: JiraState, base: str, attachment: AttachmentRecord) -> Json:
    """The spec's Attachment, as addAttachment answers and the issue's ``attachment`` field lists.
    ``created`` follows the schema (date-time) where the spec's example sends epoch milliseconds."""
    return {"self": f"{base}{API}/attachment/{attachment.id}", "id": attachment.id, "filename": attachment.filename,
            "author": user_json(base, state.users.get(attachment.author)), "created": ts(attachment.created),
            "size": attachment.size, "mimeType": attachment.mime_type,
            "content": f"{base}{API}/attachment/content/{attachment.id}"}  # fmt: skip


def transition_json(base: str, transition: Transition) -> Json:
    return {"id": transition.id, "name": transition.name, "to": status_json(base, transition.target),
            "hasScreen": False, "isGlobal": False, "isInitial": False, "isAvailable": True,
            "isConditional": False}  # fmt: skip


def watchers_json(state: JiraState, base: str, issue: IssueRecord) -> Json:
    watchers = [user_json(base, state.users.get(a)) for a in issue.watchers if a in state.users]
    return {"self": f"{base}{API}/issue/{issue.key}/watchers", "isWatching": state.myself_id in issue.watchers,
            "watchCount": len(watchers), "watchers": watchers}  # fmt: skip


def bulk_progress_json(task: BulkTask) -> Json:
    # created/started/updated are left out: the spec types them as date-time strings while Jira's own
    # examples send epoch milliseconds, and no client should depend on either.
    shown: Json = {"taskId": task.task_id, "submittedBy": {"accountId": task.submitted_by}}
    if task.polls <= 1:
        return {**shown, "status": "RUNNING", "progressPercent": 0}
    return {**shown, "status": "COMPLETE", "progressPercent": 100, "totalIssueCount": task.total,
            "processedAccessibleIssues": list(task.processed), "failedAccessibleIssues": copy.deepcopy(task.failed),
            "invalidOrInaccessibleIssueCount": 0}  # fmt: skip


def issue_json(state: JiraState, base: str, issue: IssueRecord, selected: set[str]) -> Json:
    def who(account_id: str | None) -> Json | None:
        return user_json(base, state.users.get(account_id or ""))

    comments = [comment_json(state, base, issue, c) for c in issue.comments]
    subtasks = [i for i in state.issues.values() if i.parent_key == issue.key and i.issue_type == "Sub-task"]
    resolution = _res(base, "resolution", seed.RESOLUTION_DONE["id"], name=issue.resolution,
                      description=seed.RESOLUTION_DONE["description"]) if issue.resolution else None  # fmt: skip
    fields: Json = {
        **ref_json(base, issue)["fields"],
        "assignee": who(issue.assignee), "reporter": who(issue.reporter),
        "labels": list(issue.labels), "created": ts(issue.created), "updated": ts(issue.updated),
        "project": _res(base, "project", seed.PROJECT["id"], key=seed.PROJECT["key"], name=seed.PROJECT["name"]),
        "duedate": issue.due_date.isoformat() if issue.due_date else None,
        "description": copy.deepcopy(issue.description),
        "subtasks": [ref_json(base, sub) for sub in subtasks],
        "issuelinks": [link_json(state, base, lk, issue) for lk in state.links if issue.key in (lk.inward_key,
                                                                                                  lk.outward_key)],
        "comment": {"comments": comments, "self": f"{base}{API}/issue/{issue.id}/comment",
                    "maxResults": len(comments), "total": len(comments), "startAt": 0},
        "resolution": resolution, "resolutiondate": ts(issue.resolution_date) if issue.resolution_date else None,
        "watches": {"self": f"{base}{API}/issue/{issue.key}/watchers", "watchCount": len(issue.watchers),
                    "isWatching": state.myself_id in issue.watchers},
        "attachment": [attachment_json(state, base, a) for a in state.attachments.get(issue.key, [])],
    }  # fmt: skip
    if issue.parent_key in state.issues:
        # Jira omits "parent" entirely (rather than sending null) on issues without one.
        fields["parent"] = ref_json(base, state.issues[issue.parent_key or ""])
    chosen = {name: value for name, value in fields.items() if name in selected}
    return {**_res(base, "issue", issue.id, key=issue.key), "fields": chosen}


def select_fields(specs: Iterable[str], default: str) -> set[str]:
    """Jira's ``fields`` grammar: names, ``*all``, ``*navigable`` (all but comments), ``-name`` to exclude."""
    names = [name.strip() for spec in specs for name in spec.split(",") if name.strip()]
    chosen: set[str] = set()
    for name in [name for name in names if not name.startswith("-")] or [default]:
        chosen |= {"*all": set(ALL_FIELDS), "*navigable": set(ALL_FIELDS) - {"comment"}}.get(name, {name})
    return chosen - {name[1:] for name in names if name.startswith("-")}
