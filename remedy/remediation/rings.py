"""Compliance per rollout ring, from one pass over Jamf inventory.

A Mac belongs to the first ring whose group holds it (rings are cumulative scopes: "All Managed
Macs" counts only the Macs no earlier ring had). A Mac still below the target is
- *failed* when it checked in after its ring started: the check-in policy ran and did not take;
- *offline* when Jamf has not heard from it for 30+ days: no policy will reach it;
- *waiting* otherwise: it has not checked in since its ring started.
This needs no per-Mac policy-log calls, so it stays one streamed inventory read at any fleet size.

Memory stays flat in the fleet size: each ring keeps counts and the first few Macs behind, not one
record per Mac behind (at the start of a rollout that is nearly the whole fleet). The Macs that need
a person — failed or offline in a started ring, what `exceptions` pages through — are kept in that
order, all of them or only as many as the caller will show; their totals are always exact.
"""

from __future__ import annotations

import itertools
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from remedy.jamf.client import JamfClient
from remedy.jamf.models import ComplianceCount, Computer
from remedy.jamf.versions import is_compliant
from remedy.parallel import started
from remedy.remediation.facts import Facts
from remedy.remediation.store import RingView, aware

OFFLINE_AFTER = timedelta(days=30)
# Macs behind kept per ring with their details (the first ones in inventory order): enough to name a
# few; the ring's counts cover every one of them.
BEHIND_KEPT = 20
BehindKind = Literal["failed", "waiting", "offline"]
_OLDEST = datetime.min


@dataclass(frozen=True)
class Behind:
    id: int
    name: str
    version: str
    last_contact: datetime | None
    kind: BehindKind
    free_disk_mb: int | None = None  # when inventory was read with the STORAGE section


@dataclass(frozen=True)
class Flagged:
    """A Mac that needs a person: failed or offline in a started ring."""

    device: Behind
    ring_label: str

    def order(self) -> tuple[int, datetime, int]:
        """Failed first (they need a fix), then offline; oldest check-in first within each."""
        seen = self.device.last_contact.replace(tzinfo=None) if self.device.last_contact else _OLDEST
        return (0 if self.device.kind == "failed" else 1, seen, self.device.id)


@dataclass
class RingCount:
    ring: RingView
    members: int = 0
    with_app: int = 0
    compliant: int = 0
    failures: int = 0
    waiting: int = 0
    offline: int = 0
    behind: list[Behind] = field(default_factory=list)  # the first BEHIND_KEPT behind, in inventory order

    @property
    def behind_total(self) -> int:
        return self.failures + self.waiting + self.offline

    @property
    def success_rate(self) -> float:
        """Percent of the ring's Macs with the app that run the target version or newer."""
        return 100.0 * self.compliant / self.with_app if self.with_app else 100.0

    @property
    def meets_threshold(self) -> bool:
        return self.with_app > 0 and self.success_rate >= self.ring.threshold

    def add_behind(self, device: Behind) -> None:
        if device.kind == "failed":
            self.failures += 1
        elif device.kind == "offline":
            self.offline += 1
        else:
            self.waiting += 1
        if len(self.behind) < BEHIND_KEPT:
            self.behind.append(device)


@dataclass(frozen=True)
class FleetCounts:
    fleet: ComplianceCount
    rings: list[RingCount]
    flagged: list[Flagged] = field(default_factory=list)  # in exceptions order; see count(flagged_upto=)
    flagged_failed: int = 0  # every failed Mac in a started ring, kept in ``flagged`` or not
    flagged_offline: int = 0

    @property
    def failures(self) -> int:
        return sum(r.failures for r in self.rings)

    @property
    def flagged_total(self) -> int:
        return self.flagged_failed + self.flagged_offline


class _Owners:
    """Which ring a Mac belongs to: the first whose group holds it. Members are sorted arrays of
    machine ints (8 bytes a Mac; a dict costs ~100), since the last ring usually holds the whole fleet."""

    def __init__(self, memberships: Iterable[Iterable[int]]) -> None:
        self._rings = [array("q", sorted(members)) for members in memberships]

    def ring_of(self, device_id: int) -> int | None:
        for index, members in enumerate(self._rings):
            at = bisect_left(members, device_id)
            if at < len(members) and members[at] == device_id:
                return index
        return None


class _Exceptions:
    """The started rings' failed and offline Macs in exceptions order, holding only the first ``keep``
    (None: all): the list is trimmed as it grows, so a page costs its size, not the fleet's failures."""

    def __init__(self, keep: int | None) -> None:
        self.keep = keep
        self.found: list[Flagged] = []
        self.failed = self.offline = 0

    def add(self, flagged: Flagged) -> None:
        if flagged.device.kind == "failed":
            self.failed += 1
        else:
            self.offline += 1
        if self.keep == 0:
            return
        self.found.append(flagged)
        if self.keep is not None and len(self.found) > 2 * self.keep + 64:
            self.ordered()

    def ordered(self) -> list[Flagged]:
        """The kept ones, in order (trimmed to ``keep``)."""
        self.found.sort(key=Flagged.order)
        if self.keep is not None:
            del self.found[self.keep:]
        return self.found


def _kind(computer: Computer, ring: RingView, now: datetime) -> BehindKind:
    seen = aware(computer.last_contact)
    if seen is None or now - seen > OFFLINE_AFTER:
        return "offline"
    started = ring.started_at
    return "failed" if started is not None and seen >= started else "waiting"


def count(jamf: JamfClient, facts: Facts, rings: tuple[RingView, ...] | list[RingView], now: datetime,
          sections: tuple[str, ...] = ("GENERAL", "APPLICATIONS"), flagged_upto: int | None = None) -> FleetCounts:
    """The whole fleet's compliance and each ring's, in one streamed inventory read. The rings' groups
    are read while the first inventory page is on its way: one round trip, not two, before counting.
    ``flagged_upto`` keeps only that many of the Macs that need a person (a page of `exceptions`);
    None keeps all of them (a report), 0 none (a count)."""
    memberships = started([lambda r=r: jamf.group_members(r.group_id) for r in rings])  # type: ignore[misc]
    computers = iter(jamf.inventory(sections=sections))
    first = next(computers, None)
    owners = _Owners(memberships())
    del memberships  # its futures hold the raw member lists: let them go before the pass
    counts = [RingCount(r) for r in rings]
    exceptions = _Exceptions(flagged_upto)
    stream = itertools.chain([first] if first is not None else [], computers)
    fleet = _tally(stream, facts, owners, counts, exceptions, now)
    return FleetCounts(fleet, counts, exceptions.ordered(), exceptions.failed, exceptions.offline)


def _tally(computers: Iterator[Computer], facts: Facts, owners: _Owners, counts: Sequence[RingCount],
           exceptions: _Exceptions, now: datetime) -> ComplianceCount:
    with_app = compliant = missing = 0
    fleet_behind: list[int] = []  # ids only: the fleet's count of Macs behind is its length
    for computer in computers:
        installed = computer.apps.get(facts.bundle_id)
        at = owners.ring_of(computer.id)
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
            continue
        device = Behind(computer.id, computer.name, installed, aware(computer.last_contact),
                        _kind(computer, ring.ring, now), computer.free_disk_mb)
        ring.add_behind(device)
        if ring.ring.status != "pending" and device.kind != "waiting":
            exceptions.add(Flagged(device, ring.ring.label))
    return ComplianceCount(total_with_app=with_app, compliant=compliant, behind=fleet_behind, missing_app=missing)


def soaked(ring: RingView, now: datetime) -> tuple[bool, float]:
    """Has the ring run for its minimum soak time? Returns (met, hours so far)."""
    if ring.started_at is None:
        return False, 0.0
    hours = (now - ring.started_at).total_seconds() / 3600
    return hours >= ring.soak_hours, hours
