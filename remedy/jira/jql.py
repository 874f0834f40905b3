"""Building JQL safely: values always go in as quoted string literals, never spliced in raw."""

from __future__ import annotations


def quote(value: str) -> str:
    """A JQL string literal: ``Build & Test`` → ``"Build & Test"``; quotes and backslashes escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def in_list(field: str, values: list[str]) -> str:
    """``status in ("Pilot", "Rollout")``; ``field`` is ours (a constant), the values anyone's."""
    return f"{field} in ({', '.join(quote(v) for v in values)})"
