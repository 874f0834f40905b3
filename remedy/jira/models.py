"""Typed views of Jira Cloud v3 resources.

Jira's JSON is deep, optional in odd places and ADF-heavy; these models flatten it into what
remedy reasons about (status name + category, people, plain-text description and comments,
link direction). ``from_api`` builders are lenient: a field that was not requested (search with
a subset of ``fields``) or is null simply takes its empty default.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from remedy.jira.adf import adf_to_text

JsonObject = dict[str, Any]


class _Frozen(BaseModel):
    # Values read from Jira are snapshots; mutating one would silently diverge from Jira.
    model_config = ConfigDict(frozen=True)


class JiraUser(_Frozen):
    account_id: str
    display_name: str
    email: str | None = None
    active: bool = True

    @classmethod
    def from_api(cls, data: JsonObject) -> JiraUser:
        return cls(
            account_id=str(data.get("accountId", "")),
            display_name=str(data.get("displayName") or data.get("accountId") or "unknown user"),
            # Privacy settings can hide the email: Jira then omits it or sends "".
            email=data.get("emailAddress") or None,
            active=bool(data.get("active", True)),
        )


class Comment(_Frozen):
    id: str
    author: str
    author_account_id: str | None = None
    created: datetime
    body_text: str
    # Entity properties by key (present when read with ``expand=properties`` or just created).
    properties: dict[str, Any] = {}

    @classmethod
    def from_api(cls, data: JsonObject) -> Comment:
        author = data.get("author") or {}
        return cls(
            id=str(data["id"]),
            author=str(author.get("displayName") or "unknown user"),
            author_account_id=author.get("accountId"),
            created=data["created"],
            body_text=adf_to_text(data.get("body")),
            properties=_properties(data.get("properties")),
        )

    def marker(self, property_key: str = "remedy") -> str | None:
        """The idempotency marker remedy stored on this comment, if any."""
        value = self.properties.get(property_key)
        marker = value.get("marker") if isinstance(value, dict) else None
        return str(marker) if marker is not None else None


class Attachment(_Frozen):
    """A file attached to an issue. Jira keeps every upload, even under a name already used, so
    remedy treats the file name as the identity of what it attached."""

    id: str
    filename: str
    size: int = 0

    @classmethod
    def from_api(cls, data: JsonObject) -> Attachment:
        return cls(id=str(data["id"]), filename=str(data.get("filename") or ""), size=int(data.get("size") or 0))


class IssueLink(_Frozen):
    """One link as seen from the issue that holds it.

    Jira lists a "Blocks" link on the blocker with ``outwardIssue`` (this issue *blocks* other)
    and on the blocked issue with ``inwardIssue`` (this issue *is blocked by* other); ``phrase``
    is the matching wording from the link type.
    """

    type: str
    direction: Literal["inward", "outward"]
    other_key: str
    phrase: str
    other_summary: str | None = None
    other_status: str | None = None

    @classmethod
    def from_api(cls, data: JsonObject) -> IssueLink:
        link_type = data.get("type") or {}
        direction: Literal["inward", "outward"] = "outward" if "outwardIssue" in data else "inward"
        other = data.get(f"{direction}Issue") or {}
        other_fields = other.get("fields") or {}
        return cls(
            type=str(link_type.get("name", "")),
            direction=direction,
            other_key=str(other.get("key", "")),
            phrase=str(link_type.get(direction, "")),
            other_summary=other_fields.get("summary"),
            other_status=(other_fields.get("status") or {}).get("name"),
        )


class SubtaskRef(_Frozen):
    """A sub-task as its parent lists it: enough to show progress without fetching each one."""

    key: str
    summary: str
    status: str
    done: bool

    @classmethod
    def from_api(cls, data: JsonObject) -> SubtaskRef:
        fields = data.get("fields") or {}
        status = fields.get("status") or {}
        return cls(
            key=str(data.get("key", "")),
            summary=str(fields.get("summary") or ""),
            status=str(status.get("name", "")),
            done=(status.get("statusCategory") or {}).get("key") == "done",
        )


class Transition(_Frozen):
    """A workflow transition allowed *now*; pick by ``to_status``, send by ``id``."""

    id: str
    name: str
    to_status: str
    to_category: str

    @classmethod
    def from_api(cls, data: JsonObject) -> Transition:
        target = data.get("to") or {}
        return cls(
            id=str(data.get("id", "")),
            name=str(data.get("name", "")),
            to_status=str(target.get("name", "")),
            to_category=str((target.get("statusCategory") or {}).get("key", "")),
        )


class BulkResult(_Frozen):
    """Outcome of a finished bulk operation. Jira reports issues by numeric *id*, not key."""

    task_id: str
    done_ids: list[str] = []
    failed: dict[str, list[str]] = {}

    @classmethod
    def from_api(cls, data: JsonObject) -> BulkResult:
        failed = data.get("failedAccessibleIssues") or {}
        return cls(
            task_id=str(data.get("taskId", "")),
            done_ids=[str(issue_id) for issue_id in data.get("processedAccessibleIssues") or []],
            failed={str(k): [str(reason) for reason in v or []] for k, v in failed.items()},
        )


class Issue(_Frozen):
    key: str
    id: str
    summary: str
    status: str
    status_category: str
    priority: str | None = None
    assignee: JiraUser | None = None
    reporter: JiraUser | None = None
    issue_type: str
    labels: list[str] = []
    created: datetime
    updated: datetime
    due_date: date | None = None
    description_text: str = ""
    parent_key: str | None = None
    subtask_keys: list[str] = []
    subtasks: list[SubtaskRef] = []
    watch_count: int | None = None
    resolution: str | None = None
    resolved: datetime | None = None
    links: list[IssueLink] = []
    comments: list[Comment] = []

    @classmethod
    def from_api(cls, data: JsonObject) -> Issue:
        fields: JsonObject = data.get("fields") or {}
        status = fields.get("status") or {}
        comment_page = fields.get("comment") or {}
        subtasks = [SubtaskRef.from_api(sub) for sub in fields.get("subtasks") or []]
        return cls(
            key=str(data["key"]),
            id=str(data["id"]),
            summary=str(fields.get("summary") or ""),
            status=str(status.get("name", "")),
            status_category=str((status.get("statusCategory") or {}).get("key", "")),
            priority=(fields.get("priority") or {}).get("name"),
            assignee=_user_or_none(fields.get("assignee")),
            reporter=_user_or_none(fields.get("reporter")),
            issue_type=str((fields.get("issuetype") or {}).get("name", "")),
            labels=list(fields.get("labels") or []),
            created=fields["created"],
            updated=fields["updated"],
            due_date=fields.get("duedate"),
            description_text=adf_to_text(fields.get("description")),
            parent_key=(fields.get("parent") or {}).get("key"),
            subtask_keys=[sub.key for sub in subtasks],
            subtasks=subtasks,
            watch_count=(fields.get("watches") or {}).get("watchCount"),
            resolution=(fields.get("resolution") or {}).get("name"),
            resolved=fields.get("resolutiondate"),
            links=[IssueLink.from_api(link) for link in fields.get("issuelinks") or []],
            comments=[Comment.from_api(c) for c in comment_page.get("comments") or []],
        )

    @property
    def is_done(self) -> bool:
        return self.status_category == "done"


def _properties(raw: Any) -> dict[str, Any]:
    # Jira sends entity properties as a list of {"key", "value"}; a dict is what callers look up.
    if not isinstance(raw, list):
        return {}
    return {str(p["key"]): p.get("value") for p in raw if isinstance(p, dict) and "key" in p}


def _user_or_none(data: JsonObject | None) -> JiraUser | None:
    # Unassigned issues carry ``"assignee": null``.
    return JiraUser.from_api(data) if data else None
