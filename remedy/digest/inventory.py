"""One Jamf inventory read for a whole digest.

A digest measures every active remediation at one moment. Measuring goes through the very code
`compliance KEY` runs (remedy.remediation.progress), which reads the inventory once per ticket: for a
digest of 50 tickets that would be 50 passes over the same fleet, a few seconds of Jamf for identical
data. :class:`SharedInventory` stands in for the Jamf client during a digest: the first ticket's read
is kept (in memory, for the digest only) and every other ticket counts over the same Macs, so the
numbers are the ones `compliance` computes, and all tickets of one digest are measured at one moment.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any, cast

from remedy.jamf import JamfClient
from remedy.jamf.models import Computer

# What measuring asks for (fleet counts read APPLICATIONS, ring counts GENERAL too): read both once.
_USUAL = frozenset({"GENERAL", "APPLICATIONS"})


class SharedInventory:
    """Inventory and group membership read once and shared; every other call goes to the client."""

    def __init__(self, client: JamfClient) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._read: tuple[frozenset[str], list[Computer]] | None = None
        self._members: dict[int, list[int]] = {}
        self.reads = 0  # inventory passes made (benchmarks and tests check it is one)

    def as_client(self) -> JamfClient:
        """Typed as the client it replaces: callers only use inventory, group_members and what is delegated."""
        return cast(JamfClient, self)

    def inventory(self, sections: Sequence[str] = ("GENERAL", "APPLICATIONS"), page_size: int = 1000,
                  concurrency: int = 5) -> Iterator[Computer]:
        wanted = frozenset(s.upper() for s in sections)
        # One lock for the read: the tickets measured side by side wait for the first read, not repeat it.
        with self._lock:
            if self._read is None or not wanted <= self._read[0]:
                both = wanted | _USUAL
                computers = list(self._client.inventory(sorted(both), page_size=page_size, concurrency=concurrency))
                self._read, self.reads = (both, computers), self.reads + 1
            computers = self._read[1]
        return iter(computers)

    def group_members(self, group_id: int) -> list[int]:
        with self._lock:
            known = self._members.get(group_id)
        if known is None:
            known = self._client.group_members(group_id)
            with self._lock:
                self._members[group_id] = known
        return list(known)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)
