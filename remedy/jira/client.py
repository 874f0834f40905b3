"""Jira Cloud REST v3 client: typed results, one error family, bounded time.

Every request goes through :meth:`remedy.jira.http.JiraHttp.send`, the single place where failures
become :mod:`remedy.jira.errors`, retries happen and writes are paced. Methods here only build
requests and parse answers, and say whether a POST may safely be sent twice.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import Any

import httpx

from remedy.circuit import Circuit
from remedy.jira.adf import text_to_adf
from remedy.jira.errors import JiraError, JiraInvalid, JiraUnavailable
from remedy.jira.http import JiraHttp
from remedy.jira.models import Attachment, BulkResult, Comment, Issue, JiraUser, Transition
from remedy.jira.pacer import WritePacer

__all__ = ["ISSUE_FIELDS", "JiraClient", "normalize_issue_key"]

API = "/rest/api/3"
# The fields Issue.from_api understands; asking for them explicitly keeps payloads small and
# makes search (whose default is "id" only) return the same shape as GET issue.
ISSUE_FIELDS: tuple[str, ...] = (
    "summary", "status", "priority", "assignee", "reporter", "labels", "issuetype", "created",
    "updated", "duedate", "description", "parent", "subtasks", "issuelinks", "comment", "watches",
    "resolution", "resolutiondate",
)  # fmt: skip
# Issue.from_api cannot build an Issue without these, whatever subset a caller asks for.
_REQUIRED_FIELDS: tuple[str, ...] = ("summary", "status", "issuetype", "created", "updated")
_ISSUE_KEY = re.compile(r"[A-Z][A-Z0-9_]+-\d+")
# The property remedy stores on its own comments so a re-run job can find what it already posted.
MARKER_PROPERTY = "remedy"
_COMMENT_PAGE = 100
_BULK_LIMIT = 1000  # Jira's cap per bulk transition request
_BULK_RUNNING = frozenset({"ENQUEUED", "RUNNING", "CANCEL_REQUESTED"})
_NO_XSRF_CHECK = {"X-Atlassian-Token": "no-check"}


def normalize_issue_key(key: str) -> str:
    """``" cpe-3222 "`` → ``"CPE-3222"``; anything that is not an issue key raises JiraInvalid."""
    candidate = key.strip().upper()
    if not _ISSUE_KEY.fullmatch(candidate):
        raise JiraInvalid(f"'{key}' is not a Jira issue key (expected something like CPE-3222)", status=None)
    return candidate


class JiraClient:
    def __init__(
        self,
        base_url: str,
        email: str,
        api_token: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
        max_tries: int = 4,
        max_backoff: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        pacer: WritePacer | None = None,
        circuit: Circuit | None = None,
    ) -> None:
        self._http = JiraHttp(
            base_url,
            httpx.BasicAuth(email, api_token),
            transport=transport,
            timeout=timeout,
            max_tries=max_tries,
            max_backoff=max_backoff,
            sleep=sleep,
            pacer=pacer,
            circuit=circuit,
        )
        self._sleep = sleep
        self._send = self._http.send

    # -- issues ------------------------------------------------------------------------------

    def get_issue(self, key: str) -> Issue:
        issue_key = normalize_issue_key(key)
        params = {"fields": ",".join(ISSUE_FIELDS)}
        return Issue.from_api(_json(self._send("GET", f"{API}/issue/{issue_key}", params=params, subject=issue_key)))

    def search(self, jql: str, fields: Sequence[str] | None = None, max_results: int = 50) -> Iterator[Issue]:
        """Yield every issue matching ``jql``, following ``nextPageToken`` page by page.

        Lazy: errors (e.g. JiraInvalid for bad JQL) surface when iteration starts.
        """
        wanted = list(ISSUE_FIELDS) if fields is None else _with_required(fields)
        body: dict[str, Any] = {"jql": jql, "fields": wanted, "maxResults": max_results}
        seen_tokens: set[str] = set()
        while True:
            # A search is a read sent as POST: repeating it after a timeout is harmless.
            page = _json(self._send("POST", f"{API}/search/jql", json=body, idempotent=True))
            for raw in page.get("issues") or []:
                yield Issue.from_api(raw)
            token = page.get("nextPageToken")
            if not token or page.get("isLast") is True:
                return
            if token in seen_tokens:
                # A server repeating a token would otherwise page forever.
                raise JiraUnavailable("Jira search paging looped (repeated nextPageToken)")
            seen_tokens.add(token)
            body = {**body, "nextPageToken": token}

    def create_subtask(
        self,
        parent_key: str,
        summary: str,
        *,
        project_key: str | None = None,
        labels: Sequence[str] = (),
        description: str | None = None,
    ) -> str:
        """Create a Sub-task under ``parent_key`` (in the parent's project by default); return its key."""
        parent = normalize_issue_key(parent_key)
        fields: dict[str, Any] = {
            "project": {"key": (project_key or parent.rsplit("-", 1)[0]).upper()},
            "parent": {"key": parent},
            "issuetype": {"name": "Sub-task"},
            "summary": summary,
        }
        if labels:
            fields["labels"] = list(labels)
        if description:
            fields["description"] = text_to_adf(description)
        # Pace on the parent: a burst of sub-tasks is a burst of writes to its sub-task list.
        response = self._send("POST", f"{API}/issue", json={"fields": fields}, subject=parent,
                              action=f"create sub-tasks under {parent}", pace=[parent])  # fmt: skip
        return str(_json(response)["key"])

    def set_priority(self, key: str, name: str) -> None:
        issue_key = normalize_issue_key(key)
        body = {"fields": {"priority": {"name": name}}}
        self._send("PUT", f"{API}/issue/{issue_key}", json=body, subject=issue_key, action=f"edit {issue_key}")

    def assign(self, key: str, account_id: str | None) -> None:
        """Assign to ``account_id``; None unassigns (Jira reads ``"accountId": null`` that way)."""
        issue_key = normalize_issue_key(key)
        self._send("PUT", f"{API}/issue/{issue_key}/assignee", json={"accountId": account_id},
                   subject=issue_key, action=f"assign {issue_key}")  # fmt: skip

    # -- workflow ----------------------------------------------------------------------------

    def transitions(self, key: str) -> list[Transition]:
        """The transitions allowed *now* (they depend on the issue's current status)."""
        issue_key = normalize_issue_key(key)
        page = _json(self._send("GET", f"{API}/issue/{issue_key}/transitions", subject=issue_key))
        return [Transition.from_api(raw) for raw in page.get("transitions") or []]

    def transition(self, key: str, transition_id: str) -> None:
        issue_key = normalize_issue_key(key)
        self._send("POST", f"{API}/issue/{issue_key}/transitions", json={"transition": {"id": transition_id}},
                   subject=issue_key, action=f"transition {issue_key}")  # fmt: skip

    def bulk_transition(
        self, keys: Sequence[str], transition_id: str, *, poll_every: float = 1.0, timeout: float = 120.0
    ) -> BulkResult:
        """Transition many issues in one Jira task and wait for it to finish.

        No keys: nothing is sent and the result is empty. Raises JiraUnavailable if the task is
        still running after ``timeout`` seconds, and JiraError if Jira reports it failed.
        """
        issue_keys = list(dict.fromkeys(normalize_issue_key(key) for key in keys))
        if not issue_keys:
            return BulkResult(task_id="")
        if len(issue_keys) > _BULK_LIMIT:
            raise JiraInvalid(f"Jira bulk-transitions at most {_BULK_LIMIT} issues at once", status=None)
        body = {"bulkTransitionInputs": [{"selectedIssueIdsOrKeys": issue_keys, "transitionId": transition_id}]}
        submitted = _json(self._send("POST", f"{API}/bulk/issues/transition", json=body, action="bulk-transition"))
        return self._await_bulk(str(submitted["taskId"]), poll_every, timeout)

    def _await_bulk(self, task_id: str, poll_every: float, timeout: float) -> BulkResult:
        started, waited = time.monotonic(), 0.0
        while True:
            progress = _json(self._send("GET", f"{API}/bulk/queue/{task_id}", subject=f"bulk task {task_id}"))
            status = str(progress.get("status", ""))
            if status == "COMPLETE":
                return BulkResult.from_api({"taskId": task_id, **progress})
            if status not in _BULK_RUNNING:
                raise JiraError(f"Jira bulk task {task_id} ended {status or 'without a status'}")
            # Count both the time slept and the wall clock: an injected sleep in tests takes no
            # time, a real one plus slow polls takes more than the sleeps alone.
            if max(waited, time.monotonic() - started) + poll_every > timeout:
                raise JiraUnavailable(f"Jira bulk task {task_id} still running after {timeout:g} s")
            self._sleep(poll_every)
            waited += poll_every

    # -- comments ----------------------------------------------------------------------------

    def add_comment(self, key: str, text: str, *, marker: str | None = None) -> Comment:
        """Post ``text`` (markdown-ish, converted to ADF); ``marker`` tags it for find_comment."""
        issue_key = normalize_issue_key(key)
        body: dict[str, Any] = {"body": text_to_adf(text)}
        if marker is not None:
            body["properties"] = [{"key": MARKER_PROPERTY, "value": {"marker": marker}}]
        try:
            response = self._send("POST", f"{API}/issue/{issue_key}/comment", json=body, subject=issue_key,
                                  action=f"comment on {issue_key}")  # fmt: skip
        except JiraUnavailable:
            landed = self._landed(issue_key, marker)
            if landed is None:
                raise
            return landed
        comment = Comment.from_api(_json(response))
        # Jira does not echo properties in the 201 body; keep what we stored so callers see it.
        if marker is None or comment.properties:
            return comment
        return comment.model_copy(update={"properties": {MARKER_PROPERTY: {"marker": marker}}})

    def _landed(self, issue_key: str, marker: str | None) -> Comment | None:
        """After a failed POST: the marked comment if it was created anyway (a timed-out POST may be)."""
        if marker is None:
            return None
        try:
            return self.find_comment(issue_key, marker)
        except JiraError:
            return None  # still unreachable: the caller sees the original failure

    def find_comment(self, key: str, marker: str) -> Comment | None:
        """The comment remedy tagged with ``marker``, searching every page; None if there is none."""
        issue_key = normalize_issue_key(key)
        start = 0
        while True:
            params: dict[str, str | int] = {"expand": "properties", "startAt": start, "maxResults": _COMMENT_PAGE}
            page = _json(self._send("GET", f"{API}/issue/{issue_key}/comment", params=params, subject=issue_key))
            comments = [Comment.from_api(raw) for raw in page.get("comments") or []]
            found = next((c for c in comments if c.marker(MARKER_PROPERTY) == marker), None)
            if found is not None:
                return found
            start += len(comments)
            total = page.get("total")
            if not comments or (isinstance(total, int) and start >= total):
                return None

    # -- attachments -------------------------------------------------------------------------

    def add_attachment(self, key: str, filename: str, content: bytes, media_type: str = "text/markdown") -> Attachment:
        """Attach ``content`` as ``filename``. Jira keeps a second upload of the same name as a second
        file, so callers make names unique per report and look for theirs with :meth:`attachments`."""
        issue_key = normalize_issue_key(key)
        try:
            # Jira blocks multipart POSTs without this header as cross-site request forgery (403).
            response = self._send("POST", f"{API}/issue/{issue_key}/attachments", subject=issue_key,
                                  action=f"attach files to {issue_key}", headers=_NO_XSRF_CHECK,
                                  files={"file": (filename, content, media_type)})  # fmt: skip
        except JiraUnavailable:
            landed = self._attached(issue_key, filename, len(content))
            if landed is None:
                raise
            return landed
        attached = [Attachment.from_api(raw) for raw in _json_list(response)]
        mine = next((a for a in attached if a.filename == filename), None)
        if mine is None:  # Jira answers [] when the multipart part is not named "file"
            raise JiraError(f"Jira attached nothing to {issue_key} (expected {filename})")
        return mine

    def _attached(self, issue_key: str, filename: str, size: int) -> Attachment | None:
        """After a failed POST: the file, if the upload landed anyway (a timed-out POST may have)."""
        try:
            found = [a for a in self.attachments(issue_key) if a.filename == filename and a.size == size]
        except JiraError:
            return None  # still unreachable: the caller sees the original failure
        return found[-1] if found else None

    def attachments(self, key: str) -> list[Attachment]:
        """The issue's attachments, oldest first (read from its ``attachment`` field)."""
        issue_key = normalize_issue_key(key)
        issue = _json(self._send("GET", f"{API}/issue/{issue_key}", params={"fields": "attachment"},
                                 subject=issue_key))  # fmt: skip
        raw = (issue.get("fields") or {}).get("attachment") or []
        found = [Attachment.from_api(item) for item in raw if isinstance(item, dict) and "id" in item]
        return sorted(found, key=lambda a: int(a.id) if a.id.isdigit() else 0)

    def attachment_content(self, attachment: Attachment, chunk: int = 1 << 16) -> Iterator[bytes]:
        """The attachment's bytes, streamed (``redirect=false``: Jira answers with them, no media hop)."""
        return self._http.stream(f"{API}/attachment/content/{attachment.id}", f"attachment {attachment.filename}",
                                 chunk, params={"redirect": "false"})

    # -- people ------------------------------------------------------------------------------

    def myself(self) -> JiraUser:
        return JiraUser.from_api(_json(self._send("GET", f"{API}/myself")))

    def find_users(self, query: str, max_results: int = 10) -> list[JiraUser]:
        """People (and apps) whose name or email matches ``query``, as Jira ranks them."""
        params: dict[str, str | int] = {"query": query, "maxResults": max_results}
        return [JiraUser.from_api(raw) for raw in _json_list(self._send("GET", f"{API}/user/search", params=params))]

    def add_watcher(self, key: str, account_id: str) -> None:
        issue_key = normalize_issue_key(key)
        # The body is a bare JSON string; adding a watcher twice is harmless, so timeouts may retry.
        self._send("POST", f"{API}/issue/{issue_key}/watchers", json=account_id, subject=issue_key,
                   action=f"add watchers to {issue_key}", idempotent=True)  # fmt: skip

    def watchers(self, key: str) -> list[JiraUser]:
        issue_key = normalize_issue_key(key)
        page = _json(self._send("GET", f"{API}/issue/{issue_key}/watchers", subject=issue_key))
        return [JiraUser.from_api(raw) for raw in page.get("watchers") or []]

    def link(self, blocker_key: str, blocked_key: str, link_type: str = "Blocks") -> None:
        """Record that ``blocker_key`` blocks ``blocked_key`` (inward = blocker, outward = blocked)."""
        blocker, blocked = normalize_issue_key(blocker_key), normalize_issue_key(blocked_key)
        body = {"type": {"name": link_type}, "inwardIssue": {"key": blocker}, "outwardIssue": {"key": blocked}}
        # Jira keeps one link per (type, inward, outward), so re-sending after a timeout is safe.
        self._send("POST", f"{API}/issueLink", json=body, subject=f"{blocker} or {blocked}",
                   action=f"link {blocker} and {blocked}", idempotent=True, pace=[blocker, blocked])  # fmt: skip

    # -- site --------------------------------------------------------------------------------

    def server_info(self) -> dict[str, Any]:
        return _json(self._send("GET", f"{API}/serverInfo"))

    def priorities(self) -> list[str]:
        """Priority names in Jira's configured order (highest first)."""
        return [str(p["name"]) for p in _json_list(self._send("GET", f"{API}/priority")) if p.get("name")]

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> JiraClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _with_required(fields: Sequence[str]) -> list[str]:
    return list(dict.fromkeys([*_REQUIRED_FIELDS, *fields]))


def _json(response: httpx.Response) -> dict[str, Any]:
    """The response's JSON object; anything else means something other than Jira answered."""
    body = _parsed(response)
    if not isinstance(body, dict):
        # Typically an SSO or proxy login page answering 200 with HTML instead of Jira.
        raise JiraUnavailable(f"Jira answered HTTP {response.status_code} without a JSON object")
    return body


def _json_list(response: httpx.Response) -> list[dict[str, Any]]:
    body = _parsed(response)
    if not isinstance(body, list):
        raise JiraUnavailable(f"Jira answered HTTP {response.status_code} without a JSON list")
    return [item for item in body if isinstance(item, dict)]


def _parsed(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
