"""A stateful Jira Cloud (REST v3) simulator as a plain WSGI app, answering as Jira Cloud does, errors
included: ``{"errorMessages", "errors"}`` bodies, 401, 404, 400 for JQL it cannot run, 410 for the removed
``/search``, injected 429/5xx (Atlassian's edge sends 502-504 as HTML). A new endpoint is one ``Rule`` in
``_URLS`` plus one entry in ``_HANDLERS``; tests inspect :class:`JiraState`."""

from __future__ import annotations

import base64
import copy
import hmac
import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from remedy.sandbox import seed
from remedy.sandbox.seed import IssueRecord, LinkRecord, Person

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

API = "/rest/api/3"
Json = dict[str, Any]
ALL_FIELDS = (
    "summary", "status", "priority", "assignee", "reporter", "labels", "issuetype", "project",
    "created", "updated", "duedate", "description", "parent", "subtasks", "issuelinks", "comment",
)  # fmt: skip
_SEARCH_GONE = "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API."


@dataclass
class InjectedFailure:
    status: int
    remaining: int
    retry_after: int | None = None
    path_contains: str | None = None


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: str
    status: int
    at: float  # time.monotonic(): lets pacing tests measure gaps between writes


@dataclass
class JiraState:
    email: str
    api_token: str
    myself_id: str
    users: dict[str, Person]  # by accountId
    issues: dict[str, IssueRecord]  # by key, upper case
    links: list[LinkRecord]
    # The seed story is told relative to seed.NOW; a frozen clock keeps "3 days ago" true.
    clock: Callable[[], datetime] = field(default=lambda: seed.NOW)
    latency: float = 0.0
    failures: list[InjectedFailure] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    @classmethod
    def seeded(cls, email: str = "remedy@example.com", api_token: str = "sandbox-jira-token") -> JiraState:
        users = {person.account_id: person for person in seed.team().values()}
        me = next((u for u in users.values() if u.email.lower() == email.lower()), None)
        if me is None:
            # The token belongs to a service account that is not on the team roster.
            me = Person("remedy", seed.BOT_ACCOUNT_ID, seed.BOT_DISPLAY_NAME, email, "UTC")
            users[me.account_id] = me
        issues = {record.key: record for record in copy.deepcopy(seed.issues())}
        return cls(email, api_token, me.account_id, users, issues, copy.deepcopy(seed.links()))

    def fail_next(
        self, status: int, times: int = 1, retry_after: int | None = None, path_contains: str | None = None
    ) -> None:
        """Answer the next ``times`` requests (whose path contains ``path_contains``) with ``status``."""
        with self.lock:
            self.failures.append(InjectedFailure(status, times, retry_after, path_contains))

    def set_latency(self, seconds: float) -> None:
        self.latency = seconds

    def find_issue(self, id_or_key: str) -> IssueRecord | None:
        # Jira resolves keys case-insensitively and also accepts the numeric id.
        wanted = id_or_key.strip().upper()
        return self.issues.get(wanted) or next((i for i in self.issues.values() if i.id == wanted), None)

    def take_failure(self, path: str) -> InjectedFailure | None:
        with self.lock:
            failure = next((f for f in self.failures if (f.path_contains or "") in path), None)
            if failure is not None:
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self.failures.remove(failure)
            return failure

    def authenticated(self, request: Request) -> bool:
        auth = request.authorization
        if auth is None or auth.type != "basic":
            return False
        user_ok = hmac.compare_digest((auth.username or "").lower().encode(), self.email.lower().encode())
        return hmac.compare_digest((auth.password or "").encode(), self.api_token.encode()) and user_ok

    def record(self, rq: Request, status: int) -> None:
        entry = RecordedRequest(rq.method, rq.path, rq.query_string.decode(), status, time.monotonic())
        with self.lock:
            self.requests.append(entry)


# -- JSON rendering, shaped like Jira's IssueBean and friends ----------------------------------
def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _res(base: str, kind: str, ident: Any, **values: Any) -> Json:
    """A Jira resource reference: its ``self`` URL, ``id`` and the given values."""
    return {"self": f"{base}{API}/{kind}/{ident}", "id": ident, **values}


def _user_json(base: str, user: Person | None) -> Json | None:
    if user is None:
        return None
    return {"self": f"{base}{API}/user?accountId={user.account_id}", "accountId": user.account_id,
            "emailAddress": user.email, "displayName": user.display_name, "active": user.active,
            "timeZone": user.timezone, "accountType": "atlassian"}  # fmt: skip


def _ref_json(base: str, issue: IssueRecord) -> Json:
    """An issue with summary, status, priority and issuetype: how Jira nests related issues."""
    status = seed.status(issue.status)
    category = dict(seed.STATUS_CATEGORIES[status.category])
    type_id, subtask, level = seed.ISSUE_TYPES[issue.issue_type]
    fields = {
        "summary": issue.summary,
        "status": _res(base, "status", status.id, name=status.name, description="",
                       statusCategory=_res(base, "statuscategory", category.pop("id"), **category)),
        "priority": _res(base, "priority", seed.PRIORITIES[issue.priority], name=issue.priority),
        "issuetype": _res(base, "issuetype", type_id, name=issue.issue_type, description="", subtask=subtask,
                          hierarchyLevel=level),
    }  # fmt: skip
    return {**_res(base, "issue", issue.id, key=issue.key), "fields": fields}


def _links_json(state: JiraState, base: str, issue: IssueRecord) -> list[Json]:
    rendered = []
    for link in (lk for lk in state.links if issue.key in (lk.inward_key, lk.outward_key)):
        type_id, inward, outward = seed.LINK_TYPES[link.type_name]
        link_type = _res(base, "issueLinkType", type_id, name=link.type_name, inward=inward, outward=outward)
        # The blocker (inward_key) lists the other issue as outwardIssue: "CPE-3301 blocks CPE-3445".
        mine = issue.key == link.inward_key
        side, other = ("outwardIssue", link.outward_key) if mine else ("inwardIssue", link.inward_key)
        nested = {side: _ref_json(base, state.issues[other])}
        rendered.append(_res(base, "issueLink", link.id, type=link_type, **nested))
    return rendered


def _issue_json(state: JiraState, base: str, issue: IssueRecord, selected: set[str]) -> Json:
    def who(account_id: str | None) -> Json | None:
        return _user_json(base, state.users.get(account_id or ""))

    comments = [
        _res(base, f"issue/{issue.id}/comment", c.id, author=who(c.author), body=copy.deepcopy(c.body),
             created=_ts(c.created), updated=_ts(c.updated or c.created))
        for c in issue.comments
    ]  # fmt: skip
    subtasks = [i for i in state.issues.values() if i.parent_key == issue.key and i.issue_type == "Sub-task"]
    fields: Json = {
        **_ref_json(base, issue)["fields"], "assignee": who(issue.assignee), "reporter": who(issue.reporter),
        "labels": list(issue.labels), "created": _ts(issue.created), "updated": _ts(issue.updated),
        "project": _res(base, "project", seed.PROJECT["id"], key=seed.PROJECT["key"]),
        "duedate": issue.due_date.isoformat() if issue.due_date else None,
        "description": copy.deepcopy(issue.description),
        "subtasks": [_ref_json(base, sub) for sub in subtasks], "issuelinks": _links_json(state, base, issue),
        "comment": {"comments": comments, "self": f"{base}{API}/issue/{issue.id}/comment",
                    "maxResults": len(comments), "total": len(comments), "startAt": 0},
    }  # fmt: skip
    if issue.parent_key in state.issues:
        # Jira omits "parent" entirely (rather than sending null) on issues without one.
        fields["parent"] = _ref_json(base, state.issues[issue.parent_key or ""])
    chosen = {name: value for name, value in fields.items() if name in selected}
    return {**_res(base, "issue", issue.id, key=issue.key), "fields": chosen}


def _select_fields(specs: Iterable[str], default: str) -> set[str]:
    """Jira's ``fields`` grammar: names, ``*all``, ``*navigable`` (all but comments), ``-name`` to exclude."""
    names = [name.strip() for spec in specs for name in spec.split(",") if name.strip()]
    chosen: set[str] = set()
    for name in [name for name in names if not name.startswith("-")] or [default]:
        chosen |= {"*all": set(ALL_FIELDS), "*navigable": set(ALL_FIELDS) - {"comment"}}.get(name, {name})
    return chosen - {name[1:] for name in names if name.startswith("-")}


# -- JQL: the subset remedy uses, parsed for real; anything else is a 400 ----------------------
class JqlError(ValueError):
    """A JQL problem, worded the way Jira words it in ``errorMessages``."""


_UNBOUNDED = "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
_SUPPORTED = "supported: key, parent, status, assignee, labels, project with = or in, joined by AND"
_VALUE = r"""(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\s(),"'=!~<>]+(?:\(\))?)"""
_CLAUSE = re.compile(
    rf"\s*(?P<field>\w+)\s*(?:=\s*(?P<value>{_VALUE})|(?i:in)\s*\((?P<list>\s*{_VALUE}(?:\s*,\s*{_VALUE})*)\s*\))"
)
# After a clause: AND and another clause, or the end (ORDER BY is accepted; results come in key order).
_TAIL = re.compile(r"\s+(?P<and>AND)\s+|\s*(?:ORDER\s+BY\b.*)?$", re.IGNORECASE | re.DOTALL)
# For each supported field, the values an issue has (compared with the query's canonical values).
_ISSUE_VALUES: dict[str, Callable[[IssueRecord], set[str | None]]] = {
    "key": lambda i: {i.key}, "issuekey": lambda i: {i.key}, "parent": lambda i: {i.parent_key},
    "status": lambda i: {i.status}, "assignee": lambda i: {i.assignee},
    "labels": lambda i: {label.lower() for label in i.labels}, "project": lambda i: {seed.PROJECT["key"]},
}  # fmt: skip


def parse_jql(jql: str, state: JiraState) -> Callable[[IssueRecord], bool]:
    """A predicate over issues for ``jql``; raises JqlError where Jira would answer 400."""
    if _TAIL.fullmatch(" " + jql):
        raise JqlError(_UNBOUNDED)
    checks: list[tuple[Callable[[IssueRecord], set[str | None]], set[str | None]]] = []
    pos = 0
    while True:
        clause = _CLAUSE.match(jql, pos)
        name = clause["field"].lower() if clause else (re.findall(r"\w+", jql[pos:]) or ["?"])[0]
        if clause is None and name.lower() in (*_ISSUE_VALUES, "summary", "text", "priority", "created"):
            raise JqlError(f"The remedy Jira simulator cannot run '{jql[pos:].strip()[:50]}' ({_SUPPORTED}).")
        if clause is None or name not in _ISSUE_VALUES:
            raise JqlError(f"Field '{name}' does not exist or you do not have permission to view it.")
        values = re.findall(_VALUE, clause["list"]) if clause["list"] else [clause["value"]]
        wanted = {_canonical(state, name, value) for value in values}
        checks.append((_ISSUE_VALUES[name], wanted))
        tail = _TAIL.match(jql, clause.end())
        if tail is None:
            word = jql[clause.end() :].split()[0]
            raise JqlError(f"The remedy Jira simulator does not support '{word}' ({_SUPPORTED}).")
        if not tail["and"]:
            return lambda issue: all(get(issue) & wanted for get, wanted in checks)
        pos = tail.end()


def _canonical(state: JiraState, field_name: str, value: str) -> str | None:
    """The stored form of a (possibly quoted) JQL value; unknown values are a 400, as in Jira."""
    value = re.sub(r"\\(.)", r"\1", value[1:-1]) if value[:1] in ('"', "'") else value
    low = value.lower()
    if field_name in ("key", "issuekey", "parent"):
        issue = state.find_issue(value)
        if issue is None:
            raise JqlError(f"An issue with key '{value}' does not exist for field '{field_name}'.")
        return issue.key
    if field_name == "status" and low in (names := {s.name.lower(): s.name for s in seed.WORKFLOW}):
        return names[low]
    if field_name == "assignee" and (low in ("empty", "null", "currentuser()") or value in state.users):
        return None if low in ("empty", "null") else state.myself_id if low == "currentuser()" else value
    if field_name == "labels":
        return low
    if field_name == "project" and low in (seed.PROJECT["key"].lower(), seed.PROJECT["id"]):
        return seed.PROJECT["key"]
    raise JqlError(f"The value '{value}' does not exist for the field '{field_name}'.")


# -- handlers and the app -------------------------------------------------------------------------
def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(data), status=status, mimetype="application/json", headers=headers)


def _error(status: int, *messages: str, headers: dict[str, str] | None = None) -> Response:
    return _json({"errorMessages": list(messages), "errors": {}}, status, headers)


def _base(request: Request) -> str:
    # self links point back at whatever host the client used (127.0.0.1:port or an in-process name).
    return request.host_url.rstrip("/")


def _get_issue(state: JiraState, request: Request, args: dict[str, str]) -> Response:
    issue = state.find_issue(args["id_or_key"])
    if issue is None:
        return _error(404, "Issue does not exist or you do not have permission to see it.")
    selected = _select_fields(request.args.getlist("fields"), default="*all")
    return _json(_issue_json(state, _base(request), issue, selected))


def _server_info(state: JiraState, request: Request, args: dict[str, str]) -> Response:
    base = _base(request)
    return _json({"baseUrl": base, "displayUrl": base, "version": "1001.0.0-SNAPSHOT", "buildNumber": 100285,
                  "versionNumbers": [1001, 0, 0], "deploymentType": "Cloud", "serverTime": _ts(state.clock()),
                  "serverTitle": "Jira (remedy sandbox)", "serverTimeZone": "Etc/UTC"})  # fmt: skip


def _user_search(state: JiraState, request: Request, args: dict[str, str]) -> Response:
    query, account_id = request.args.get("query", "").strip().lower(), request.args.get("accountId")
    if not query and not account_id:
        return _error(400, "One of 'query', 'accountId' or 'property' must be specified.")

    def matches(user: Person) -> bool:
        # Jira matches a prefix of the email, of the display name or of any word in it.
        names = [user.email.lower(), user.display_name.lower(), *user.display_name.lower().split()]
        return user.account_id == account_id if account_id else any(n.startswith(query) for n in names)

    found = [_user_json(_base(request), u) for u in state.users.values() if u.active and matches(u)]
    return _json(found[: request.args.get("maxResults", 50, type=int)])  # active users only, as in Jira


def _token_offset(token: Any) -> int:
    # Tokens are opaque to clients, as Jira's are; this one is just the base64 of the next offset.
    try:
        return 0 if token is None else max(0, int(base64.urlsafe_b64decode(str(token)).decode()))
    except ValueError:
        raise JqlError("The provided next page token is invalid or expired.") from None


def _search_jql(state: JiraState, request: Request, args: dict[str, str]) -> Response:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _error(400, "The request body must be a JSON object.")
    jql = str(body.get("jql") or "")
    try:
        matches, offset = parse_jql(jql, state), _token_offset(body.get("nextPageToken"))
    except JqlError as exc:
        return _error(400, str(exc))
    fields = body.get("fields") or []
    sel = _select_fields([fields] if isinstance(fields, str) else fields, default="id")
    ids_only = sel <= {"id"}
    # Jira caps pages well below 5000 when full fields are requested.
    limit = max(1, min(int(body.get("maxResults") or 50), 5000 if ids_only else 100))
    found = sorted((i for i in state.issues.values() if matches(i)), key=lambda i: int(i.key.split("-")[1]))
    base, page, end = _base(request), found[offset : offset + limit], offset + limit
    result: Json = {"issues": [{"id": i.id} if ids_only else _issue_json(state, base, i, sel) for i in page]}
    if end < len(found):
        result["nextPageToken"] = base64.urlsafe_b64encode(str(end).encode()).decode()
    return _json({**result, "isLast": end >= len(found)})


_URLS = Map([
    Rule(f"{API}/issue/<id_or_key>", endpoint="get_issue", methods=["GET"]),
    Rule(f"{API}/myself", endpoint="myself", methods=["GET"]),
    Rule(f"{API}/serverInfo", endpoint="server_info", methods=["GET"]),
    Rule(f"{API}/user/search", endpoint="user_search", methods=["GET"]),
    Rule(f"{API}/search/jql", endpoint="search_jql", methods=["POST"]),
    Rule(f"{API}/search", endpoint="search_removed", methods=["GET", "POST"]),
])  # fmt: skip
_HANDLERS: dict[str, Callable[[JiraState, Request, dict[str, str]], Response]] = {
    "get_issue": _get_issue, "server_info": _server_info, "user_search": _user_search,
    "search_jql": _search_jql,
    "myself": lambda state, request, args: _json(_user_json(_base(request), state.users[state.myself_id])),
    "search_removed": lambda state, request, args: _error(410, _SEARCH_GONE),
}  # fmt: skip


def _failure_response(failure: InjectedFailure) -> Response:
    headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
    reason = HTTP_STATUS_CODES.get(failure.status, "Error")
    if failure.status in (502, 503, 504):
        # Atlassian's edge answers these with an HTML page, not Jira's JSON error body.
        page = f"<html><head><title>{failure.status} {reason}</title></head><body>{reason}</body></html>"
        return Response(page, status=failure.status, mimetype="text/html", headers=headers)
    message = "Rate limit exceeded." if failure.status == 429 else f"{reason} (injected by the simulator)"
    return _error(failure.status, message, headers=headers)


def _respond(state: JiraState, request: Request) -> Response:
    if state.latency > 0:
        time.sleep(state.latency)  # outside the lock: a slow answer must not stall other requests
    failure = state.take_failure(request.path)
    if failure is not None:
        return _failure_response(failure)
    try:
        endpoint, args = _URLS.bind_to_environ(request.environ).match()
    except NotFound:
        return _error(404, f"null for uri: {request.url}")  # Jira's REST layer (Jersey) words it so
    except HTTPException as exc:  # 405, or a redirect for a trailing slash
        return exc.get_response(request.environ)
    # serverInfo needs no credentials in Jira: `doctor` can tell "unreachable" from "bad token".
    if endpoint != "server_info" and not state.authenticated(request):
        challenge = {"WWW-Authenticate": 'Basic realm="protected-area"'}
        return _error(401, "Client must be authenticated to access this resource.", headers=challenge)
    with state.lock:
        return _HANDLERS[endpoint](state, request, dict(args))


def create_app(state: JiraState) -> WSGIApplication:
    """The simulator as a WSGI app: serve it with ``server.serve`` or mount it in httpx."""

    @Request.application
    def app(request: Request) -> Response:
        response = _respond(state, request)
        state.record(request, response.status_code)
        return response

    return app
