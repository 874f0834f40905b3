"""Compliance per rollout ring, from one pass over Jamf inventory.

A Mac belongs to the first ring whose group holds it (rings are cumulative scopes: "All Managed
Macs" counts only the Macs no earlier ring had). A Mac still below the target is
- *failed* when it checked in after its ring started: the check-in policy ran and did not take;
- *offline* when Jamf has not heard from it for 30+ days: no policy will reach it;
- *waiting* otherwise: it has not checked in since its ring started.
This needs no per-Mac policy-log calls, so it stays one streamed inventory read at any fleet size.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from remedy.jamf.client import JamfClient
from remedy.jamf.models import ComplianceCount, Computer
from remedy.jamf.versions import is_compliant
from remedy.parallel import started
from remedy.remediation.facts import Facts
from remedy.remediation.store import RingView, aware

OFFLINE_AFTER = timedelta(days=30)
BehindKind = Literal["failed", "waiting", "offline"]


@dataclass(frozen=True)
class Behind:
    id: int
    name: str
    version: str
    last_contact: datetime | None
    kind: BehindKind
    free_disk_mb: int | None = None  # when inventory was read with the STORAGE section


@dataclass
class RingCount:
    ring: RingView
    members: int = 0
    with_app: int = 0
    compliant: int = 0
    behind: list[Behind] | None = None

    @property
    def success_rate(self) -> float:
        """Percent of the ring's Macs with the app that run the target version or newer."""
        return 100.0 * self.compliant / self.with_app if self.with_app else 100.0

    def _count(self, kind: BehindKind) -> int:
        return sum(1 for b in self.behind or [] if b.kind == kind)

    @property
    def failures(self) -> int:
        return self._count("failed")

    @property
    def waiting(self) -> int:
        return self._count("waiting")

    @property
    def offline(self) -> int:
        return self._count("offline")

    @property
    def meets_threshold(self) -> bool:
        return self.with_app > 0 and self.success_rate >= self.ring.threshold


@dataclass(frozen=True)
class FleetCounts:
    fleet: ComplianceCount
    rings: list[RingCount]

    @property
    def failures(self) -> int:
        return sum(r.failures for r in self.rings)


def _kind(computer: Computer, ring: RingView, now: datetime) -> BehindKind:
    seen = aware(computer.last_contact)
    if seen is None or now - seen > OFFLINE_AFTER:
        return "offline"
    started = ring.started_at
    return "failed" if started is not None and seen >= started else "waiting"


def count(jamf: JamfClient, facts: Facts, rings: tuple[RingView, ...] | list[RingView], now: datetime,
          sections: tuple[str, ...] = ("GENERAL", "APPLICATIONS")) -> FleetCounts:
    """The whole fleet's compliance and each ring's, in one streamed inventory read. The rings' groups
    are read while the first inventory page is on its way: one round trip, not two, before counting."""
    memberships = started([lambda r=r: jamf.group_members(r.group_id) for r in rings])  # type: ignore[misc]
    computers = iter(jamf.inventory(sections=sections))
    first = next(computers, None)
    owner: dict[int, int] = {}
    for index, members in enumerate(memberships()):
        for member in members:
            owner.setdefault(member, index)
    counts = [RingCount(r, behind=[]) for r in rings]
    with_app = compliant = missing = 0
    fleet_behind: list[int] = []
    for computer in itertools.chain([first] if first is not None else [], computers):
        installed = computer.apps.get(facts.bundle_id)
        at = owner.get(computer.id)
        ring = counts[at] if at is not None else None
        if ring is not None:
            ring.members += 1
        if installed is None:
            missing += 1
            continue
        with_app += 1
        ok = is_compliant(installed, facts.target_version)
        compliant += ok
        if not ok:
            fleet_behind.append(computer.id)
        if ring is None:
            continue
        ring.with_app += 1
        if ok:
            ring.compliant += 1
        else:
            assert ring.behind is not None
            ring.behind.append(Behind(computer.id, computer.name, installed, aware(computer.last_contact),
                                      _kind(computer, ring.ring, now), computer.free_disk_mb))
    fleet = ComplianceCount(total_with_app=with_app, compliant=compliant, behind=fleet_behind, missing_app=missing)
    return FleetCounts(fleet, counts)


def soaked(ring: RingView, now: datetime) -> tuple[bool, float]:
    """Has the ring run for its minimum soak time? Returns (met, hours so far)."""
    if ring.started_at is None:
        return False, 0.0
    hours = (now - ring.started_at).total_seconds() / 3600
    return hours >= ring.soak_hours, hours
