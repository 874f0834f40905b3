"""Macs that need a person: still behind in a started ring, and either failed or unreachable.

A Mac that simply has not checked in since its ring started is not an exception (it will).
The reason for each one on the page shown comes from Jamf: its policy runs (Classic computer
history: how often our policy failed, when last) and its free disk space from inventory — Jamf's
API does not give a failed run's log text, so remedy says what the data shows, not more.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from remedy.jamf.client import JamfClient
from remedy.jamf.models import PolicyRun
from remedy.parallel import parallel
from remedy.remediation.rings import Behind, Flagged

__all__ = ["EXCEPTION_LIMIT", "PAGE_SIZE", "DeviceException", "Flagged", "explain", "package_mb"]

PAGE_SIZE = 20
EXCEPTION_LIMIT = 100  # a report lists this many with reasons (one history call each), then counts the rest
DEFAULT_NEED_MB = 1024  # when Jamf doesn't record the package's size
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGT]?B)?", re.IGNORECASE)
_MB = {"KB": 1 / 1024, "MB": 1, "GB": 1024, "TB": 1024 * 1024, "B": 1 / (1024 * 1024)}


@dataclass(frozen=True)
class DeviceException:
    id: int
    name: str
    ring_label: str
    version: str
    last_contact: datetime | None
    reason: str



def package_mb(size: str | None) -> float:
    """Jamf's package size ("187MB", "1.2 GB", bytes as digits) in megabytes."""
    found = _SIZE.search(size or "")
    if not found:
        return DEFAULT_NEED_MB
    unit = (found.group(2) or "B").upper()
    return float(found.group(1)) * _MB.get(unit, 1)


def _reason(device: Behind, runs: list[PolicyRun], free_mb: int | None, need_mb: float, now: datetime) -> str:
    if device.kind == "offline":
        if device.last_contact is None:
            return "offline: never checked in"
        return f"offline: last check-in {(now - device.last_contact).days} days ago"
    failed = [r for r in runs if r.status.lower() == "failed"]
    if free_mb is not None and free_mb < need_mb:
        return f"not enough disk space: {free_mb} MB free, the package needs ~{need_mb:.0f} MB"
    if failed:
        last = failed[0].completed_at
        when = f", last {last:%Y-%m-%d %H:%M} UTC" if last else ""
        return f"install failed {len(failed)}× at check-in{when}; see the policy log in Jamf"
    return f"checked in but still on {device.version}: the policy has not run on it yet"


def explain(jamf: JamfClient, page: list[Flagged], policy_id: int, need_mb: float,
            now: datetime) -> list[DeviceException]:
    """Reasons for one page of flagged Macs (one history call each, at most 5 at a time)."""
    def runs_of(device_id: int) -> Callable[[], list[PolicyRun]]:
        return lambda: [r for r in jamf.policy_history(device_id) if r.policy_id == policy_id]

    histories = parallel([runs_of(f.device.id) for f in page if f.device.kind == "failed"])
    runs = iter(histories)
    found = []
    for f in page:
        mine = next(runs) if f.device.kind == "failed" else []
        d = f.device
        found.append(DeviceException(d.id, d.name, f.ring_label, d.version, d.last_contact,
                                     _reason(d, mine, d.free_disk_mb, need_mb, now)))
    return found
