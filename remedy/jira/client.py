"""Jira Cloud REST v3 client: typed results, one error family, bounded time.

Every request goes through :meth:`JiraClient._send`, the single place where transport and HTTP
failures become :mod:`remedy.jira.errors`. Retries are not done yet; ``_send`` already asks a
retry policy (``_retry_policy``) after each retryable failure, and the default policy says
"give up", so backoff with Retry-After and write pacing plug in there without touching callers.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import Any

import httpx

from remedy.jira.errors import (
    JiraAuthError,
    JiraError,
    JiraForbidden,
    JiraInvalid,
    JiraNotFound,
    JiraRateLimited,
    JiraUnavailable,
)
from remedy.jira.models import Issue, JiraUser

# The fields Issue.from_api understands; asking for them explicitly keeps payloads small and
# makes search (whose default is "id" only) return the same shape as GET issue.
ISSUE_FIELDS: tuple[str, ...] = (
    "summary", "status", "priority", "assignee", "reporter", "labels", "issuetype", "created",
    "updated", "duedate", "description", "parent", "subtasks", "issuelinks", "comment",
)  # fmt: skip
# Issue.from_api cannot build an Issue without these, whatever subset a caller asks for.
_REQUIRED_FIELDS: tuple[str, ...] = ("summary", "status", "issuetype", "created", "updated")
_ISSUE_KEY = re.compile(r"[A-Z][A-Z0-9]+-\d+")
_DETAIL_LIMIT = 300

# (method, attempt starting at 0, error) -> seconds to wait before trying again, or None to raise.
RetryPolicy = Callable[[str, int, JiraError], float | None]


def no_retry(method: str, attempt: int, error: JiraError) -> float | None:
    """The policy of this slice: surface the first failure unchanged."""
    return None


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
    ) -> None:
        self._timeout = httpx.Timeout(timeout, connect=3.0)
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            auth=httpx.BasicAuth(email, api_token),
            transport=transport,
            timeout=self._timeout,
            headers={"Accept": "application/json", "User-Agent": "remedy-jira/0.1"},
        )
        self._retry_policy: RetryPolicy = no_retry
        self._sleep: Callable[[float], None] = time.sleep

    # -- reads -------------------------------------------------------------------------------

    def get_issue(self, key: str) -> Issue:
        issue_key = normalize_issue_key(key)
        params = {"fields": ",".join(ISSUE_FIELDS)}
        response = self._send("GET", f"/rest/api/3/issue/{issue_key}", params=params, subject=issue_key)
        return Issue.from_api(_json(response))

    def myself(self) -> JiraUser:
        return JiraUser.from_api(_json(self._send("GET", "/rest/api/3/myself")))

    def server_info(self) -> dict[str, Any]:
        return _json(self._send("GET", "/rest/api/3/serverInfo"))

    def search(self, jql: str, fields: Sequence[str] | None = None, max_results: int = 50) -> Iterator[Issue]:
        """Yield every issue matching ``jql``, following ``nextPageToken`` page by page.

        Lazy: errors (e.g. JiraInvalid for bad JQL) surface when iteration starts.
        """
        wanted = list(ISSUE_FIELDS) if fields is None else _with_required(fields)
        body: dict[str, Any] = {"jql": jql, "fields": wanted, "maxResults": max_results}
        seen_tokens: set[str] = set()
        while True:
            page = _json(self._send("POST", "/rest/api/3/search/jql", json=body))
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

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> JiraClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- transport ---------------------------------------------------------------------------

    def _send(self, method: str, path: str, *, subject: str | None = None, **kwargs: Any) -> httpx.Response:
        """Send one request; map every failure into the JiraError family.

        ``subject`` names what the path is about (an issue key) for human 404 messages.
        Retry seam: a retryable failure is offered to ``self._retry_policy``.
        """
        attempt = 0
        while True:
            try:
                return self._send_once(method, path, subject, **kwargs)
            except (JiraRateLimited, JiraUnavailable) as error:
                delay = self._retry_policy(method, attempt, error)
                if delay is None:
                    raise
                self._sleep(delay)
                attempt += 1

    def _send_once(self, method: str, path: str, subject: str | None, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise JiraUnavailable(f"Jira is unreachable ({self._timeout_text(exc)})") from exc
        except httpx.TransportError as exc:
            host = self._http.base_url.netloc.decode()
            raise JiraUnavailable(f"Jira is unreachable at {host} (could not connect)") from exc
        if response.is_success:
            return response
        raise _error_for(response, path, subject)

    def _timeout_text(self, exc: httpx.TimeoutException) -> str:
        if isinstance(exc, httpx.ConnectTimeout):
            return f"no connection after {self._timeout.connect:g} s"
        return f"timeout after {self._timeout.read:g} s"


def _with_required(fields: Sequence[str]) -> list[str]:
    return list(dict.fromkeys([*_REQUIRED_FIELDS, *fields]))


def _json(response: httpx.Response) -> dict[str, Any]:
    """The response's JSON object; anything else means something other than Jira answered."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        # Typically an SSO or proxy login page answering 200 with HTML instead of Jira.
        raise JiraUnavailable(f"Jira answered HTTP {response.status_code} without a JSON object")
    return body


def _error_body(response: httpx.Response) -> tuple[list[str], dict[str, str]]:
    """Jira's ``{"errorMessages": [...], "errors": {...}}``; gateways may send HTML instead."""
    try:
        body = response.json()
    except ValueError:
        return [], {}
    if not isinstance(body, dict):
        return [], {}
    messages = [str(m) for m in body.get("errorMessages") or []]
    errors = body.get("errors") or {}
    return messages, {str(k): str(v) for k, v in errors.items()} if isinstance(errors, dict) else {}


def _retry_after(value: str | None) -> float | None:
    # Jira sends delta-seconds; an HTTP-date form is rare enough to treat as "not given".
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _error_for(response: httpx.Response, path: str, subject: str | None) -> JiraError:
    status = response.status_code
    messages, field_errors = _error_body(response)
    detail = "; ".join([*messages, *(f"{k}: {v}" for k, v in field_errors.items())])[:_DETAIL_LIMIT]
    retry_after = _retry_after(response.headers.get("Retry-After"))
    if status == 401:
        return JiraAuthError("Jira rejected the credentials (HTTP 401): check the Jira email and API token")
    if status == 403:
        return JiraForbidden(f"Jira denied access to {subject or path}: {detail or 'missing permission'}")
    if status == 404:
        return JiraNotFound(f"{subject} not found in Jira" if subject else f"Jira has nothing at {path}")
    if status == 400:
        message = f"Jira rejected the request: {detail or 'bad request'}"
        return JiraInvalid(message, messages=messages, field_errors=field_errors)
    if status == 429:
        wait = f"; retry after {retry_after:g} s" if retry_after is not None else ""
        return JiraRateLimited(f"Jira rate limit reached{wait}", retry_after=retry_after)
    if status >= 500:
        return JiraUnavailable(f"Jira is unavailable (HTTP {status})", status=status, retry_after=retry_after)
    return JiraError(f"Jira answered HTTP {status}: {detail or response.reason_phrase}", status=status)
