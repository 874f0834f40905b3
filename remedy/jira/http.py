"""The HTTP layer under :class:`remedy.jira.client.JiraClient`: one ``send`` for every request.

``JiraHttp.send`` is the single place where transport and HTTP failures become
:mod:`remedy.jira.errors`, where failed requests are retried (429, 5xx, timeouts) with Retry-After
or jittered exponential backoff, and where writes are paced per issue. API methods only say what
they send and whether re-sending it is harmless.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import httpx

from remedy.circuit import Circuit
from remedy.http_retry import IDEMPOTENT_METHODS, Backoff, parse_retry_after, retryable, unreachable
from remedy.jira.errors import (
    JiraAuthError,
    JiraError,
    JiraForbidden,
    JiraInvalid,
    JiraNotFound,
    JiraRateLimited,
    JiraUnavailable,
)
from remedy.jira.pacer import WritePacer

log = logging.getLogger("remedy.jira")

_DETAIL_LIMIT = 300
_WRITES = frozenset({"POST", "PUT", "DELETE", "PATCH"})
_ISSUE_IN_PATH = re.compile(r"/rest/api/3/issue/([^/?#]+)")
# Jira's plain-text answer to a multipart POST without ``X-Atlassian-Token: no-check``.
_XSRF_FAILED = "XSRF check failed"
_VERBS = {"GET": "view", "POST": "change", "PUT": "edit", "DELETE": "delete", "PATCH": "edit"}

class JiraHttp:
    """An ``httpx.Client`` with Jira's auth, a timeout on every call, retries and write pacing."""

    def __init__(
        self,
        base_url: str,
        auth: httpx.Auth,
        *,
        transport: httpx.BaseTransport | None,
        timeout: float,
        max_tries: int,
        max_backoff: float,
        sleep: Callable[[float], None],
        pacer: WritePacer | None,
        circuit: Circuit | None = None,
    ) -> None:
        # Connecting should never take long; a slow answer may (Jira renders big issues slowly).
        self.timeout = httpx.Timeout(timeout, connect=min(timeout, 3.0))
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            auth=auth,
            transport=transport,
            timeout=self.timeout,
            headers={"Accept": "application/json", "User-Agent": "remedy-jira/0.2"},
        )
        self._backoff = Backoff(max_tries, max_backoff)
        self._sleep = sleep
        self._pacer = pacer if pacer is not None else WritePacer(sleep=sleep)
        self.circuit = circuit

    def close(self) -> None:
        self._client.close()

    def send(
        self,
        method: str,
        path: str,
        *,
        subject: str | None = None,
        action: str | None = None,
        idempotent: bool | None = None,
        pace: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send one request, retrying what is safe to retry; raise a JiraError for any failure.

        ``subject`` names what the path is about (an issue key) for 404 messages; ``action`` says
        what was refused on 403 ("comment on CPE-3222"). ``idempotent`` defaults by method: a POST
        is re-sent after a timeout only when the caller vouches that a repeat does no harm.
        ``pace`` lists the issue keys a write touches (default: the key in the path). While the circuit
        is open (:mod:`remedy.circuit`), it raises JiraUnavailable at once, sending nothing.
        """
        def call() -> httpx.Response:
            return self._send_retrying(method, path, subject, action, idempotent, pace, **kwargs)

        if self.circuit is None:
            return call()
        return self.circuit.run(call, self._verdict,
                                lambda message, wait: JiraUnavailable(message, retry_after=wait))

    def _verdict(self, error: BaseException) -> bool | None:
        """How a failed call counts for the circuit. A 429 counts once we retried as told and still got
        it; with one try per call (the bulk runner paces 429s itself) it is the caller's to handle."""
        if isinstance(error, JiraRateLimited):
            return self._backoff.max_tries > 1
        if isinstance(error, JiraUnavailable):
            return True
        if isinstance(error, JiraError):
            return False if error.status is not None else None  # Jira answered; None: refused before sending
        return None

    def _send_retrying(
        self, method: str, path: str, subject: str | None, action: str | None, idempotent: bool | None,
        pace: Sequence[str] | None, **kwargs: Any
    ) -> httpx.Response:
        safe = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        keys = self._pace_keys(method, path, pace)
        for attempt in range(1, self._backoff.max_tries + 1):
            for key in keys:
                self._pacer.wait(key)
            try:
                return self._send_once(method, path, subject, action, **kwargs)
            except (JiraRateLimited, JiraUnavailable) as error:
                if not retryable(error.status, error.__cause__, safe):
                    raise
                delay = self._backoff.delay(error.retry_after, attempt)
                if delay is None:
                    if error.retry_after is None:
                        error.retry_after = self._backoff.ceiling(attempt)  # a hint for the caller's own retry
                    raise
                log.info("Jira %s %s failed (%s); try %d of %d in %.1f s",
                         method, path, error, attempt + 1, self._backoff.max_tries, delay)  # fmt: skip
                self._sleep(delay)
        raise AssertionError("unreachable: the last try returns or raises")  # pragma: no cover

    def stream(self, path: str, subject: str, chunk: int, **kwargs: Any) -> Iterator[bytes]:
        """GET ``path`` as chunks of at most ``chunk`` bytes, never holding the whole body. Not retried:
        a caller reading a large file retries the whole read if it wants to."""
        try:
            with self._client.stream("GET", path, follow_redirects=True, **kwargs) as response:
                if not response.is_success:
                    response.read()
                    raise error_for(response, "GET", path, subject, None)
                yield from response.iter_bytes(chunk)
        except httpx.TransportError as exc:
            raise JiraUnavailable(unreachable("Jira", exc, self._client, self.timeout)) from exc

    def _pace_keys(self, method: str, path: str, pace: Sequence[str] | None) -> Sequence[str]:
        if method not in _WRITES:
            return ()
        if pace is not None:
            return pace
        found = _ISSUE_IN_PATH.match(path)
        return (found.group(1),) if found else ()

    def _send_once(
        self, method: str, path: str, subject: str | None, action: str | None, **kwargs: Any
    ) -> httpx.Response:
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise JiraUnavailable(unreachable("Jira", exc, self._client, self.timeout)) from exc
        if response.is_success:
            return response
        raise error_for(response, method, path, subject, action)


def error_body(response: httpx.Response) -> tuple[list[str], dict[str, str]]:
    """Jira's ``{"errorMessages": [...], "errors": {...}}``; bulk APIs send ``errors: [{message}]``."""
    try:
        body = response.json()
    except ValueError:
        return [], {}  # gateways answer with HTML pages
    if not isinstance(body, dict):
        return [], {}
    messages = [str(m) for m in body.get("errorMessages") or []]
    errors = body.get("errors") or {}
    if isinstance(errors, list):
        messages += [str(e.get("message")) for e in errors if isinstance(e, dict) and e.get("message")]
        return messages, {}
    return messages, {str(k): str(v) for k, v in errors.items()} if isinstance(errors, dict) else {}


def error_for(response: httpx.Response, method: str, path: str, subject: str | None, action: str | None) -> JiraError:
    """The JiraError for a non-2xx response; messages name the issue, never the credentials."""
    status = response.status_code
    messages, field_errors = error_body(response)
    detail = "; ".join([*(f"{k}: {v}" for k, v in field_errors.items()), *messages])[:_DETAIL_LIMIT]
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if status == 401:
        return JiraAuthError("Jira rejected the credentials (HTTP 401): check the Jira email and API token")
    if status == 403:
        what = action or f"{_VERBS.get(method, 'change')} {subject or path}"
        if _XSRF_FAILED in response.text:  # our bug, not a missing permission: say which
            return JiraForbidden(f"Jira blocked the request to {what}: XSRF check failed "
                                 "(the X-Atlassian-Token: no-check header is missing)")
        return JiraForbidden(f"No permission to {what} in Jira")
    if status == 404:
        return JiraNotFound(f"{subject} not found in Jira" if subject else f"Jira has nothing at {path}")
    if status in (400, 413, 422):
        # 413 (per-issue limits) and 422 (project configuration) are refusals a retry won't fix.
        message = f"Jira refused: {detail or 'bad request'}"
        return JiraInvalid(message, status=status, messages=messages, field_errors=field_errors)
    if status == 429:
        wait = f"; retry after {retry_after:g} s" if retry_after is not None else ""
        return JiraRateLimited(f"Jira rate limit reached{wait}", retry_after=retry_after)
    if status >= 500:
        return JiraUnavailable(f"Jira is unavailable (HTTP {status})", status=status, retry_after=retry_after)
    return JiraError(f"Jira answered HTTP {status}: {detail or response.reason_phrase}", status=status)
