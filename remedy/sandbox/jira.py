"""A stateful Jira Cloud (REST v3) simulator as a plain WSGI app, answering as Jira Cloud does, errors
included: ``{"errorMessages", "errors"}`` bodies, 401, 403, 404, 400 for JQL it cannot run, 410 for the
removed ``/search``, injected 429/5xx (Atlassian's edge sends 502-504 as HTML) and latency on every
endpoint. A new endpoint is one ``Rule`` in ``_URLS`` plus one entry in ``_HANDLERS``; tests inspect and
steer :class:`JiraState` (state and rules: :mod:`.jira_state`; JSON shapes: :mod:`.jira_render`; writes:
:mod:`.jira_writes`; JQL: :mod:`.jql`).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from remedy.sandbox import jira_writes as writes
from remedy.sandbox import seed
from remedy.sandbox.faults import InjectedFailure
from remedy.sandbox.jira_render import (
    API,
    Json,
    base_url,
    comment_json,
    error,
    issue_json,
    json_response,
    link_json,
    link_type_json,
    priority_json,
    problem_response,
    select_fields,
    transition_json,
    ts,
    user_json,
    watchers_json,
)
from remedy.sandbox.jira_state import (  # re-exported: tests and run.py import them from here
    BulkTask,
    JiraProblem,
    JiraState,
    RecordedRequest,
)
from remedy.sandbox.jql import JqlError, JqlQuery, parse_jql
from remedy.sandbox.seed import Person

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

__all__ = [
    "BulkTask", "InjectedFailure", "JiraProblem", "JiraState", "JqlError", "JqlQuery", "RecordedRequest",
    "create_app", "parse_jql",
]  # fmt: skip

Handler = Callable[[JiraState, Request, dict[str, str]], Response]
_SEARCH_GONE = "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API."
_COMMENT_ORDERS = {None: False, "created": False, "+created": False, "-created": True}  # -> newest first?


def _get_issue(state: JiraState, request: Request, args: dict[str, str]) -> Response:
    issue = state.require(args["id_or_key"])
    selected = select_fields(request.args.getlist("fields"), default="*all")
    return json_response(issue_json(state, base_url(request), issue, selected))


def _server_info(state: JiraState, request: Request, args: dict[str, str]) -> Response:
    base = base_url(request)
    return json_response({"baseUrl": base, "displayUrl": base, "version": "1001.0.0-SNAPSHOT", "buildNumber": 100285,
                          "versionNumbers": [1001, 0, 0], "deploymentType": "Cloud", "serverTime": ts(state.clock()),
                          "serverTitle": "Jira (remedy sandbox)", "serverTimeZone": "Etc/UTC"})  # fmt: skip


def _user_search(state: JiraState, request: Request, args: dict[str, str]) -> Response:
    query, account_id = request.args.get("query", "").strip().lower(), request.args.get("accountId")
    if not query and not account_id:
        return error(400, "One of 'query', 'accountId' or 'property' must be specified.")

    def matches(user: Person) -> bool:
        # Jira matches a prefix of the email, of the display name or of any word in it.
        names = [user.email.lower(), user.display_name.lower(), *user.display_name.lower().split()]
        return user.account_id == account_id if account_id else any(n.startswith(query) for n in names)

    found = [user_json(base_url(request), u) for u in state.users.values() if u.active and matches(u)]
    return json_response(found[: request.args.get("maxResults", 50, type=int)])  # active users only, as in Jira


def _token_offset(token: Any) -> int:
    # Tokens are opaque to clients, as Jira's are; this one is just the base64 of the next offset.
    try:
        return 0 if token is None else max(0, int(base64.urlsafe_b64decode(str(token)).decode()))
    except ValueError:
        raise JqlError("The provided next page token is invalid or expired.") from None


def _search_jql(state: JiraState, request: Request, args: dict[str, str]) -> Response:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return error(400, "The request body must be a JSON object.")
    try:
        query, offset = parse_jql(str(body.get("jql") or ""), state), _token_offset(body.get("nextPageToken"))
    except JqlError as exc:
        return error(400, str(exc))
    fields = body.get("fields") or []
    sel = select_fields([fields] if isinstance(fields, str) else fields, default="id")
    ids_only = sel <= {"id"}
    # Jira caps pages well below 5000 when full fields are requested.
    limit = max(1, min(int(body.get("maxResults") or 50), 5000 if ids_only else 100))
    visible = [i for i in state.issues.values() if not state.is_forbidden(i, "GET") and query(i)]
    found = query.sort(visible)
    base, page, end = base_url(request), found[offset : offset + limit], offset + limit
    result: Json = {"issues": [{"id": i.id} if ids_only else issue_json(state, base, i, sel) for i in page]}
    if end < len(found):
        result["nextPageToken"] = base64.urlsafe_b64encode(str(end).encode()).decode()
    return json_response({**result, "isLast": end >= len(found)})


def _get_transitions(state: JiraState, request: Request, args: dict[str, str]) -> Response:
    issue, wanted = state.require(args["id_or_key"]), request.args.get("transitionId")
    allowed = [transition_json(base_url(request), t) for t in state.transitions_from(issue) if wanted in (None, t.id)]
    return json_response({"expand": "transitions", "transitions": allowed})


def _get_comments(state: JiraState, request: Request, args: dict[str, str]) -> Response:
    issue, order = state.require(args["id_or_key"]), request.args.get("orderBy")
    if order not in _COMMENT_ORDERS:
        return error(400, f"Invalid orderBy value '{order}': comments can only be ordered by 'created'.")
    start = max(0, request.args.get("startAt", 0, type=int) or 0)
    limit = max(0, min(request.args.get("maxResults", 100, type=int) or 0, 5000))
    ordered = sorted(issue.comments, key=lambda c: (c.created, int(c.id)), reverse=_COMMENT_ORDERS[order])
    expand, base = request.args.get("expand", ""), base_url(request)
    shown = [comment_json(state, base, issue, c, expand) for c in ordered[start : start + limit]]
    return json_response({"startAt": start, "maxResults": limit, "total": len(ordered), "comments": shown})


def _get_watchers(state: JiraState, request: Request, args: dict[str, str]) -> Response:
    return json_response(watchers_json(state, base_url(request), state.require(args["id_or_key"])))


def _attachment_content(state: JiraState, request: Request, args: dict[str, str]) -> Response:
    """The file's bytes with ``redirect=false``; otherwise, as Jira does, 303 to where they can be read
    (Jira's media service; here the same path without the redirect)."""
    with state.lock:
        found = next((a for files in state.attachments.values() for a in files if a.id == args["attachment_id"]), None)
    if found is None:
        return error(404, f"The attachment with id '{args['attachment_id']}' does not exist")
    if request.args.get("redirect", "true").lower() != "false":
        location = f"{base_url(request)}{API}/attachment/content/{found.id}?redirect=false"
        return Response(status=303, headers={"Location": location})
    return Response(found.content, mimetype=found.mime_type)


def _get_link(state: JiraState, request: Request, args: dict[str, str]) -> Response:
    return json_response(link_json(state, base_url(request), writes.find_link(state, args["link_id"])))


def _link_types(state: JiraState, request: Request, args: dict[str, str]) -> Response:
    return json_response({"issueLinkTypes": [link_type_json(base_url(request), name) for name in seed.LINK_TYPES]})


def _priorities(state: JiraState, request: Request, args: dict[str, str]) -> Response:
    base = base_url(request)
    return json_response([{**priority_json(base, name), "isDefault": name == seed.DEFAULT_PRIORITY}
                          for name in seed.PRIORITIES])  # fmt: skip


def _myself(state: JiraState, request: Request, args: dict[str, str]) -> Response:
    return json_response(user_json(base_url(request), state.users[state.myself_id]))


_ISSUE = f"{API}/issue/<id_or_key>"
_URLS = Map([
    Rule(_ISSUE, endpoint="get_issue", methods=["GET"]),
    Rule(_ISSUE, endpoint="edit_issue", methods=["PUT"]),
    Rule(f"{API}/issue", endpoint="create_issue", methods=["POST"]),
    Rule(f"{_ISSUE}/transitions", endpoint="get_transitions", methods=["GET"]),
    Rule(f"{_ISSUE}/transitions", endpoint="do_transition", methods=["POST"]),
    Rule(f"{_ISSUE}/comment", endpoint="get_comments", methods=["GET"]),
    Rule(f"{_ISSUE}/comment", endpoint="add_comment", methods=["POST"]),
    Rule(f"{_ISSUE}/assignee", endpoint="assign", methods=["PUT"]),
    Rule(f"{_ISSUE}/attachments", endpoint="add_attachments", methods=["POST"]),
    Rule(f"{_ISSUE}/watchers", endpoint="get_watchers", methods=["GET"]),
    Rule(f"{_ISSUE}/watchers", endpoint="add_watcher", methods=["POST"]),
    Rule(f"{_ISSUE}/watchers", endpoint="remove_watcher", methods=["DELETE"]),
    Rule(f"{API}/attachment/content/<attachment_id>", endpoint="attachment_content", methods=["GET"]),
    Rule(f"{API}/issueLink", endpoint="create_link", methods=["POST"]),
    Rule(f"{API}/issueLink/<link_id>", endpoint="get_link", methods=["GET"]),
    Rule(f"{API}/issueLink/<link_id>", endpoint="delete_link", methods=["DELETE"]),
    Rule(f"{API}/issueLinkType", endpoint="link_types", methods=["GET"]),
    Rule(f"{API}/priority", endpoint="priorities", methods=["GET"]),
    Rule(f"{API}/bulk/issues/transition", endpoint="bulk_transition", methods=["POST"]),
    Rule(f"{API}/bulk/queue/<task_id>", endpoint="bulk_progress", methods=["GET"]),
    Rule(f"{API}/myself", endpoint="myself", methods=["GET"]),
    Rule(f"{API}/serverInfo", endpoint="server_info", methods=["GET"]),
    Rule(f"{API}/user/search", endpoint="user_search", methods=["GET"]),
    Rule(f"{API}/search/jql", endpoint="search_jql", methods=["POST"]),
    Rule(f"{API}/search", endpoint="search_removed", methods=["GET", "POST"]),
])  # fmt: skip
_HANDLERS: dict[str, Handler] = {
    "get_issue": _get_issue, "edit_issue": writes.edit_issue, "create_issue": writes.create_issue,
    "get_transitions": _get_transitions, "do_transition": writes.do_transition,
    "get_comments": _get_comments, "add_comment": writes.add_comment, "assign": writes.assign,
    "add_attachments": writes.add_attachments, "attachment_content": _attachment_content,
    "get_watchers": _get_watchers, "add_watcher": writes.add_watcher, "remove_watcher": writes.remove_watcher,
    "create_link": writes.create_link, "get_link": _get_link, "delete_link": writes.delete_link,
    "link_types": _link_types, "priorities": _priorities,
    "bulk_transition": writes.bulk_transition, "bulk_progress": writes.bulk_progress,
    "myself": _myself, "server_info": _server_info, "user_search": _user_search, "search_jql": _search_jql,
    "search_removed": lambda state, request, args: error(410, _SEARCH_GONE),
}  # fmt: skip


def routes() -> list[tuple[str, str]]:
    """``(method, path template)`` for every endpoint served, e.g. ``("GET", "/rest/api/3/issue/{id_or_key}")``."""
    served = []
    for rule in _URLS.iter_rules():
        path = rule.rule.replace("<", "{").replace(">", "}")
        served += [(method, path) for method in sorted(rule.methods or ()) if method not in ("HEAD", "OPTIONS")]
    return served


def _failure_response(failure: InjectedFailure) -> Response:
    headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
    reason = HTTP_STATUS_CODES.get(failure.status, "Error")
    if failure.status in (502, 503, 504):
        # Atlassian's edge answers these with an HTML page, not Jira's JSON error body.
        page = f"<html><head><title>{failure.status} {reason}</title></head><body>{reason}</body></html>"
        return Response(page, status=failure.status, mimetype="text/html", headers=headers)
    message = "Rate limit exceeded." if failure.status == 429 else f"{reason} (injected by the simulator)"
    return error(failure.status, message, headers=headers)


def _respond(state: JiraState, request: Request) -> Response:
    # The rate limit is counted as requests arrive, as Atlassian's edge counts them, before any work.
    retry_after = state.throttle(request.method)
    if state.latency > 0:
        time.sleep(state.latency)  # outside the lock: a slow answer must not stall other requests
    if retry_after is not None:
        return _failure_response(InjectedFailure(429, 0, retry_after))
    failure = state.take_failure(request.path)
    if failure is not None:
        return _failure_response(failure)
    try:
        endpoint, args = _URLS.bind_to_environ(request.environ).match()
    except NotFound:
        return error(404, f"null for uri: {request.url}")  # Jira's REST layer (Jersey) words it so
    except HTTPException as exc:  # 405, or a redirect for a trailing slash
        return exc.get_response(request.environ)
    # serverInfo needs no credentials in Jira: `doctor` can tell "unreachable" from "bad token".
    if endpoint != "server_info" and not state.authenticated(request):
        challenge = {"WWW-Authenticate": 'Basic realm="protected-area"'}
        return error(401, "Client must be authenticated to access this resource.", headers=challenge)
    with state.lock:
        try:
            return _HANDLERS[endpoint](state, request, dict(args))
        except JiraProblem as problem:
            return problem_response(problem, bulk=endpoint.startswith("bulk_"))


def create_app(state: JiraState) -> WSGIApplication:
    """The simulator as a WSGI app: serve it with ``server.serve`` or mount it in httpx."""

    @Request.application
    def app(request: Request) -> Response:
        response = _respond(state, request)
        state.record(request, response.status_code)
        return response

    return app
