"""The HTTP layer under :class:`remedy.jamf.client.JamfClient`: one ``send`` for every request.

``JamfHttp.send`` is the single place where the bearer token is attached (and renewed once after a 401),
where transport and HTTP failures become :mod:`remedy.jamf.errors`, and where 429/502/503/504 and
connection failures are retried with Retry-After or jittered backoff. Jamf asks API clients to keep to
about five connections, so both the connection pool and in-flight requests are capped at five.
"""

from __future__ import annotations

import html
import logging
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from remedy.circuit import Circuit
from remedy.http_retry import IDEMPOTENT_METHODS, Backoff, parse_retry_after, retryable, unreachable
from remedy.jamf.auth import TOKEN_PATH, TokenSource
from remedy.jamf.errors import (
    JamfAuthError,
    JamfConflict,
    JamfError,
    JamfForbidden,
    JamfInvalid,
    JamfNotFound,
    JamfRateLimited,
    JamfUnavailable,
)

log = logging.getLogger("remedy.jamf")

# The Jamf Pro API version of each endpoint, in one place: Jamf moves endpoints between versions across
# releases (inventory v1 -> v4, smart and static groups v2 -> v3, patch summaries v2 -> v3), and an upgrade
# should be a one-line change here. Sub-resources get their own entry: Jamf versions them separately.
VERSIONS: dict[str, str] = {
    "computers-inventory": "v4",
    "smart-groups": "v3",
    "smart-group-membership": "v3",
    "static-groups": "v3",
    "packages": "v1",
    "patch-software-title-configurations": "v3",
    "patch-summary": "v3",
    "patch-summary-versions": "v3",
    "departments": "v1",
    "jamf-pro-version": "v1",
}
# Endpoints whose path is not just their name; ``{id}`` takes the first part ``api_path`` is given.
_PATHS = {
    "smart-groups": "computer-groups/smart-groups",
    "smart-group-membership": "computer-groups/smart-group-membership",
    "static-groups": "computer-groups/static-groups",
    "patch-summary": "patch-software-title-configurations/{id}/patch-summary",
    "patch-summary-versions": "patch-software-title-configurations/{id}/patch-summary/versions",
}
MAX_CONNECTIONS = 5
LIST_PAGE = 200  # page size for the Pro API's small lists (groups, packages)
MAX_BACKOFF = 30.0
_DETAIL_LIMIT = 300
_RETRY_STATUSES = frozenset({429, 502, 503, 504})
_PLAIN_P = re.compile(r"<p>(.*?)</p>", re.DOTALL | re.IGNORECASE)


class _TokenFailed(Exception):
    """Carries a token-fetch failure past ``send``'s retry loop: the fetch already retried on its own."""

    def __init__(self, error: JamfError) -> None:
        super().__init__(error.message)
        self.error = error


def api_path(endpoint: str, *rest: str | int) -> str:
    """``api_path("smart-groups", 7)`` -> ``/api/v3/computer-groups/smart-groups/7``.

    An endpoint with ``{id}`` in its path puts the first part there: ``api_path("patch-summary", 3)`` ->
    ``/api/v3/patch-software-title-configurations/3/patch-summary``. Without parts the template is kept,
    which is how the simulator's route table spells it.
    """
    path = _PATHS.get(endpoint, endpoint)
    if "{id}" in path and rest:
        path, rest = path.replace("{id}", str(rest[0])), rest[1:]
    tail = "".join(f"/{part}" for part in rest)
    return f"/api/{VERSIONS[endpoint]}/{path}{tail}"


class JamfHttp:
    """An ``httpx.Client`` with Jamf's token, a timeout on every call, retries and five connections."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        transport: httpx.BaseTransport | None,
        timeout: float,
        max_tries: int,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
        circuit: Circuit | None = None,
    ) -> None:
        self.timeout = httpx.Timeout(timeout, connect=min(timeout, 3.0))
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            transport=transport,
            timeout=self.timeout,
            limits=httpx.Limits(max_connections=MAX_CONNECTIONS),
            headers={"Accept": "application/json", "User-Agent": "remedy-jamf/0.1"},
        )
        # The pool limit alone makes a sixth thread wait for a connection until the pool timeout and
        # then fail; the semaphore makes it wait for its turn instead.
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._backoff = Backoff(max_tries, MAX_BACKOFF)
        self._sleep = sleep
        self.tokens = TokenSource(client_id, client_secret, self._fetch_token, clock)
        self.circuit = circuit

    def close(self) -> None:
        self._client.close()

    def named(self, subject: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send, naming ``subject`` (not the path) when Jamf answers 404."""
        try:
            return self.send(method, path, **kwargs)
        except JamfNotFound:
            raise JamfNotFound(f"{subject} not found in Jamf") from None

    def paged(self, path: str) -> Iterator[dict[str, Any]]:
        """Every result of a Pro API list endpoint, page by page until ``totalCount`` is reached."""
        number, seen = 0, 0
        while True:
            body = json_object(self.send("GET", path, params={"page": number, "page-size": LIST_PAGE}))
            results = body.get("results") or []
            yield from results
            seen += len(results)
            if not results or seen >= int(body.get("totalCount") or 0):
                return
            number += 1

    def send(
        self, method: str, path: str, *, auth: bool = True, idempotent: bool | None = None, **kwargs: Any
    ) -> httpx.Response:
        """Send one request, retrying what is safe to retry; raise a JamfError for any failure.

        ``idempotent`` defaults by method: a POST is re-sent after a 502/504 or read timeout only when
        the caller vouches that a repeat does no harm (a policy create is not such a POST). While the
        circuit is open (:mod:`remedy.circuit`), it raises JamfUnavailable at once, sending nothing.
        """
        def call() -> httpx.Response:
            try:
                return self._send_retrying(method, path, auth, idempotent, **kwargs)
            except _TokenFailed as failed:
                raise failed.error from None  # retrying here too would multiply the token tries

        if self.circuit is None:
            return call()
        # The token fetch inside a call is a nested send: the circuit counts only the outer call's outcome.
        return self.circuit.run(call, _verdict, lambda message, wait: JamfUnavailable(message, None, wait))

    def _send_retrying(self, method: str, path: str, auth: bool, idempotent: bool | None,
                       **kwargs: Any) -> httpx.Response:
        safe = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        for attempt in range(1, self._backoff.max_tries + 1):
            try:
                return self._authorized(method, path, auth, **kwargs)
            except (JamfRateLimited, JamfUnavailable) as error:
                can_retry = retryable(error.status, error.__cause__, safe, _RETRY_STATUSES)
                delay = self._backoff.delay(error.retry_after, attempt) if can_retry else None
                if delay is None:
                    raise
                log.info("Jamf %s %s failed (%s); try %d of %d in %.1f s",
                         method, path, error, attempt + 1, self._backoff.max_tries, delay)  # fmt: skip
                self._sleep(delay)
        raise AssertionError("unreachable: the last try returns or raises")  # pragma: no cover

    def _authorized(self, method: str, path: str, auth: bool, **kwargs: Any) -> httpx.Response:
        """One try; with ``auth``, a 401 renews the token and repeats the call once."""
        if not auth:
            return self._send_once(method, path, **kwargs)
        for renewed in (False, True):
            # Take the token before a connection slot: a thread refreshing it may need a slot itself.
            try:
                token = self.tokens.get()
            except JamfError as error:
                raise _TokenFailed(error) from error
            headers = {**kwargs.pop("headers", {}), "Authorization": f"Bearer {token}"}
            try:
                return self._send_once(method, path, headers=headers, **kwargs)
            except JamfAuthError:
                if renewed:
                    raise
                log.info("Jamf answered 401 to %s %s; renewing the token once", method, path)
                self.tokens.invalidate(token)
                kwargs["headers"] = {k: v for k, v in headers.items() if k != "Authorization"}
        raise AssertionError("unreachable")  # pragma: no cover

    def _send_once(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            with self._slots:
                response = self._client.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise JamfUnavailable(unreachable("Jamf", exc, self._client, self.timeout)) from exc
        if response.is_success:
            return response
        raise error_for(response, path)

    def _fetch_token(self, form: dict[str, str]) -> Any:
        try:
            # A token request creates nothing: resending it after a timeout is harmless.
            return self.send("POST", TOKEN_PATH, auth=False, idempotent=True, data=form).json()
        except JamfAuthError:
            raise JamfAuthError("Jamf rejected the API client credentials: check JAMF_CLIENT_ID and "
                                "JAMF_CLIENT_SECRET") from None  # fmt: skip
        except ValueError:
            raise JamfUnavailable("Jamf's token endpoint answered with something that is not JSON") from None


def _verdict(error: BaseException) -> bool | None:
    """How a failed call counts for the circuit: Jamf failing to answer (5xx, timeouts, 429s that outlasted
    the retries) counts; any other answer means Jamf is up; a request refused before sending says nothing."""
    if isinstance(error, JamfRateLimited | JamfUnavailable):
        return True
    if isinstance(error, JamfError):
        return False if error.status is not None else None
    return None


def error_detail(response: httpx.Response) -> tuple[str, dict[str, str]]:
    """The reason Jamf gave: Pro API ``errors[].description/field`` or Classic's HTML ``<p>Error: …</p>``."""
    try:
        body = response.json()
    except ValueError:
        return _classic_reason(response.text), {}
    causes = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(causes, list):
        return "", {}
    causes = [c for c in causes if isinstance(c, dict)]
    fields = {str(c["field"]): str(c.get("description") or "") for c in causes if c.get("field")}
    texts = [str(c["description"]) for c in causes if c.get("description")]
    return "; ".join(texts)[:_DETAIL_LIMIT], fields


def _classic_reason(page: str) -> str:
    # Classic's Tomcat page has a styled <p> with the status phrase, then a plain <p> with the reason.
    for found in _PLAIN_P.findall(page):
        text = html.unescape(re.sub(r"<[^>]+>", "", found)).strip()
        if text:
            return text.removeprefix("Error:").strip()[:_DETAIL_LIMIT]
    return ""


def error_for(response: httpx.Response, path: str) -> JamfError:
    """The JamfError for a non-2xx response; messages name the path, never the credentials."""
    status = response.status_code
    detail, fields = error_detail(response)
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    suffix = f": {detail}" if detail else ""
    if status == 401:
        return JamfAuthError("Jamf rejected the API token (HTTP 401)")
    if status == 403:
        return JamfForbidden(f"The Jamf API client lacks a privilege for {path}{suffix}")
    if status == 404:
        return JamfNotFound(f"Jamf has nothing at {path}{suffix}")
    if status == 409:
        return JamfConflict(f"Jamf refused the change{suffix or ' (conflict)'}")
    if status in (400, 422):
        return JamfInvalid(f"Jamf refused the request{suffix or ' (bad request)'}", status, field_errors=fields)
    if status == 429:
        wait = f"; retry after {retry_after:g} s" if retry_after is not None else ""
        return JamfRateLimited(f"Jamf rate limit reached{wait}", retry_after=retry_after)
    if status >= 500:
        return JamfUnavailable(f"Jamf is unavailable (HTTP {status})", status, retry_after)
    return JamfError(f"Jamf answered HTTP {status}{suffix}", status)


def json_object(response: httpx.Response) -> dict[str, Any]:
    """The JSON object Jamf answered; anything else is Jamf failing to answer, not a caller's error."""
    body = _json_body(response)
    if not isinstance(body, dict):
        raise JamfUnavailable(f"Jamf answered {response.request.url.path} with unexpected JSON")
    return body


def json_list(response: httpx.Response) -> list[dict[str, Any]]:
    """A JSON array of objects (a few Pro API lists are not paged); entries that are not objects are dropped."""
    body = _json_body(response)
    if not isinstance(body, list):
        raise JamfUnavailable(f"Jamf answered {response.request.url.path} with unexpected JSON")
    return [item for item in body if isinstance(item, dict)]


def _json_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise JamfUnavailable(f"Jamf answered {response.request.url.path} with something that is not JSON") from None
