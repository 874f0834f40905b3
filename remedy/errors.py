"""Errors a user can act on, as opposed to transient faults that a retry may cure."""

from __future__ import annotations


class UserError(Exception):
    """The command cannot succeed as given (unknown ticket, no permission…).

    Jobs turn it into a ❌ line with this message and do not retry: retrying would fail the
    same way. The message is shown to the user, so it must be short, clear and secret-free.
    """


class ServiceError(Exception):
    """Base of each client's error family (Jira, Jamf): a message written for people in Slack,
    the HTTP status (None when no response came back) and any Retry-After the service sent."""

    default_status: int | None = None

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status if status is not None else self.default_status
        self.retry_after = retry_after

    def __str__(self) -> str:
        return self.message
