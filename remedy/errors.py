"""Errors a user can act on, as opposed to transient faults that a retry may cure."""

from __future__ import annotations


class UserError(Exception):
    """The command cannot succeed as given (unknown ticket, no permission…).

    Jobs turn it into a ❌ line with this message and do not retry: retrying would fail the
    same way. The message is shown to the user, so it must be short, clear and secret-free.
    """
