"""A Mac's policy history from the Classic API: ``GET /JSSResource/computerhistory/id/{id}/subset/PolicyLogs``.

Each ``<policy_log>`` carries the policy, the status ("Completed" or "Failed") and the time three ways: a
local-time phrase ("2026/11/25 at 10:02 AM"), epoch milliseconds and a UTC timestamp. The epoch is read
first and the UTC text is the fallback; the local phrase is never read (its time zone is the server's).
Parsing goes through :func:`remedy.jamf.policy_xml.parse_xml` and is lenient per entry: a log without a
usable policy id is skipped rather than failing the whole history.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from remedy.jamf.models import PolicyRun
from remedy.jamf.policy_xml import int_or_none, parse_xml, text_at

__all__ = ["parse_policy_runs", "policy_logs_path"]

_CLASSIC = "/JSSResource"
_OLDEST = datetime.min.replace(tzinfo=UTC)


def policy_logs_path(computer_id: int) -> str:
    return f"{_CLASSIC}/computerhistory/id/{int(computer_id)}/subset/PolicyLogs"


def parse_policy_runs(body: bytes) -> list[PolicyRun]:
    """Every ``policy_logs/policy_log`` of a computer history, newest first (undated runs last)."""
    root = parse_xml(body, "a computer history read")
    runs = [run for element in root.findall("policy_logs/policy_log") if (run := _run(element)) is not None]
    # Jamf lists newest first already; sorting keeps that promise whatever the server did (ties keep order).
    return sorted(runs, key=lambda run: run.completed_at or _OLDEST, reverse=True)


def _run(element: ET.Element) -> PolicyRun | None:
    policy_id = int_or_none(text_at(element, "policy_id"))
    if policy_id is None:
        return None
    return PolicyRun(policy_id=policy_id, policy_name=text_at(element, "policy_name"),
                     status=text_at(element, "status"), completed_at=_completed_at(element))  # fmt: skip


def _completed_at(element: ET.Element) -> datetime | None:
    epoch = int_or_none(text_at(element, "date_completed_epoch"))
    if epoch is not None and epoch > 0:
        try:
            return datetime.fromtimestamp(epoch / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            pass  # absurd epoch: try the text form
    text = text_at(element, "date_completed_utc")
    for pattern in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(text, pattern).astimezone(UTC)
        except ValueError:
            continue
    return None
