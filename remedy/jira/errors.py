"""One error family for everything that can go wrong talking to Jira.

Callers catch :class:`JiraError` (or one subclass) and never see ``httpx`` exceptions, so a job
can turn any failure into a one-line ❌ reason. Messages are written for people in Slack and
never contain credentials.
"""

from __future__ import annotations

from remedy.errors import ServiceError


class JiraError(ServiceError):
    """Base of the family. ``status`` is the HTTP status, or None when no response was received."""


class JiraAuthError(JiraError):
    """401: the email/API token pair was rejected (or missing)."""

    default_status = 401


class JiraForbidden(JiraError):
    """403: authenticated, but the account lacks a permission for this action."""

    default_status = 403


class JiraNotFound(JiraError):
    """404: the issue (or other resource) does not exist or is not visible to this account."""

    default_status = 404


class JiraInvalid(JiraError):
    """400: Jira rejected the request's content, or we refused it before sending (status None).

    ``messages`` and ``field_errors`` mirror Jira's ``errorMessages`` and ``errors`` so a caller
    can point at the offending field (e.g. ``{"assignee": "User does not exist"}``).
    """

    default_status = 400

    def __init__(
        self,
        message: str,
        *,
        status: int | None = 400,
        messages: list[str] | None = None,
        field_errors: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, status=status)
        # Keep the local-validation case distinguishable: no request, no status.
        self.status = status
        self.messages = list(messages or [])
        self.field_errors = dict(field_errors or {})


class JiraRateLimited(JiraError):
    """429: too many requests; ``retry_after`` is Jira's Retry-After in seconds when it sent one."""

    default_status = 429


class JiraUnavailable(JiraError):
    """5xx, timeouts and connection failures: Jira could not answer; trying later may work."""
