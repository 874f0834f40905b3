"""What our HTTP clients (Jira, Jamf) share about failing well: which failures may be re-sent,
how long to wait (Retry-After first, else jittered exponential backoff), and how a transport
failure reads in Slack. Each client keeps its own error family and send loop."""

from __future__ import annotations

import random
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

BACKOFF_BASE = 0.5
# Methods whose repetition has the effect of one request (RFC 9110); POSTs must say so themselves.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Failures where the request never left this machine: re-sending cannot duplicate anything.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# The service (or its load balancer) refused before doing anything: safe to resend even a POST.
REFUSED_STATUSES = frozenset({429, 503})


def retryable(status: int | None, cause: BaseException | None, safe: bool,
              retry_statuses: Collection[int] | None = None) -> bool:
    """Whether re-sending could help and cannot do a non-idempotent write twice. ``safe`` says a
    repeat is harmless; ``retry_statuses`` limits which other statuses are worth a retry at all."""
    if status in REFUSED_STATUSES:
        return True
    if status is None:
        return safe or isinstance(cause, NOT_SENT)
    # Other 5xx: the request may have been carried out (a comment or a policy created).
    return safe and (retry_statuses is None or status in retry_statuses)


class Backoff:
    """Waits between tries: the service's Retry-After when it fits, else full jitter, capped."""

    def __init__(self, max_tries: int, max_backoff: float, rng: random.Random | None = None) -> None:
        self.max_tries = max(1, max_tries)
        self.max_backoff = max_backoff
        self._random = rng or random.Random()

    def ceiling(self, attempt: int) -> float:
        return float(min(self.max_backoff, BACKOFF_BASE * 2**attempt))

    def delay(self, retry_after: float | None, attempt: int) -> float | None:
        """Seconds to wait before try ``attempt + 1``, or None to give up now."""
        if attempt >= self.max_tries:
            return None
        if retry_after is not None:
            # Coming back before Retry-After only earns another 429: a longer wait than we may take
            # is the job queue's business.
            return retry_after if retry_after <= self.max_backoff else None
        # Full jitter: workers that failed together do not all come back at the same instant.
        return self._random.uniform(0.0, self.ceiling(attempt - 1))


def parse_retry_after(value: str | None, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if value is None or not value.strip():
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - now()).total_seconds(), 0.0)


def unreachable(service: str, exc: httpx.TransportError, client: httpx.Client, timeout: httpx.Timeout) -> str:
    """How a transport failure reads for a person: never the URL's credentials, just host and cause."""
    if isinstance(exc, httpx.ConnectTimeout):
        return f"{service} is unreachable (no connection after {timeout.connect:g} s)"
    if isinstance(exc, httpx.TimeoutException):
        return f"{service} is unreachable (timeout after {timeout.read:g} s)"
    what = "could not connect" if isinstance(exc, httpx.ConnectError) else "connection lost"
    return f"{service} is unreachable at {client.base_url.netloc.decode()} ({what})"
