"""One error family for everything that can go wrong talking to Jamf Pro.

Callers catch :class:`JamfError` (or one subclass) and never see ``httpx`` exceptions, so a job can turn
any failure into a one-line reason in Slack. Messages are short, human and never carry the client secret
or a bearer token.
"""

from __future__ import annotations

from remedy.errors import ServiceError


class JamfError(ServiceError):
    """Base of the family. ``status`` is the HTTP status, or None when no response was received."""


class JamfAuthError(JamfError):
    """401 even with a freshly fetched token, or the token endpoint refused the client credentials."""

    default_status = 401


class JamfForbidden(JamfError):
    """403: the API client's role lacks a privilege for this call."""

    default_status = 403


class JamfNotFound(JamfError):
    """404: no such computer, group, package or policy."""

    default_status = 404


class JamfConflict(JamfError):
    """409: Classic refused a policy (duplicate name, unknown group or package) with an HTML error page."""

    default_status = 409


class JamfInvalid(JamfError):
    """400/422: Jamf rejected the request's content; ``field_errors`` maps field -> description."""

    default_status = 400

    def __init__(
        self,
        message: str,
        status: int | None = 400,
        retry_after: float | None = None,
        field_errors: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, status, retry_after)
        # None stays None: a request we refused locally was never sent.
        self.status = status
        self.field_errors = dict(field_errors or {})


class JamfRateLimited(JamfError):
    """429: too many requests; ``retry_after`` is Jamf's Retry-After in seconds when it sent one."""

    default_status = 429


class JamfUnavailable(JamfError):
    """5xx, timeouts and connection failures: Jamf could not answer; trying later may work."""
