"""A deterministic fleet of managed Macs for the Jamf Pro simulator.

``Fleet.generate(n, seed)`` always builds the same Macs: departments, macOS versions, installed apps
(mostly behind the versions :data:`remedy.sandbox.seed.REMEDIATION_FACTS` asks for) and, per device and
policy, a *fate*: how the device fares when a policy reaches it. Rollout rings are fixed slices of the
device index so that "Pilot" is the same Macs in every run. Times are simulated seconds relative to
:data:`remedy.sandbox.seed.NOW` (negative = before it).

Each Mac also has a boot drive and its free space, drawn from a random stream of their own so that adding
them changed no Mac's apps and no fate. Free space starts well above any package's size; the check-in at
which a policy fails for want of disk space leaves it below the smallest package (:meth:`Device.fill_disk`),
so inventory explains that failure. (A fate is drawn per policy id and any Mac can draw the disk-space one
for some policy, so "low" cannot be a fixed trait of a few Macs without changing fates.)
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from remedy.sandbox.seed import REMEDIATION_FACTS, ROLLED_OUT

DAY = 86_400.0
DEPARTMENTS = ("IT", "Engineering", "Sales", "Finance", "Marketing", "Support", "Legal", "People")
MACOS_VERSIONS = ("13.6.9", "14.4.1", "14.6.1", "14.7.1", "15.0.1", "15.1", "15.1.1")
DISK_SPACE_REASON = "Not enough disk space to install the package"
PERMANENT_REASONS = (DISK_SPACE_REASON, "User deferral limit reached")
TRANSIENT_REASON = "Network connection lost while downloading the package"
# Rings are fixed slices of ``index % 100`` and disjoint, so each phase only adds new Macs.
RINGS: dict[str, tuple[int, int]] = {"Pilot - Chrome": (0, 5), "Phase 1": (5, 25), "Phase 2": (25, 60)}
ALL_MACS = "All Managed Macs"


@dataclass(frozen=True)
class AppSpec:
    """An app the fleet runs: who has it (``share``) and the versions they have, oldest first."""

    name: str
    bundle_id: str
    path: str
    old_versions: tuple[str, ...]
    target: str | None  # the REMEDIATION_FACTS target, if any
    share: float


_APPS: tuple[AppSpec, ...] = (
    AppSpec("Google Chrome", "com.google.Chrome", "/Applications/Google Chrome.app",
            ("118.0.5993.117", "119.0.6045.199", "120.0.6099.71"), "120.0.6099.109", 0.92),
    AppSpec("Zoom", "us.zoom.xos", "/Applications/zoom.us.app", ("5.16.10", "5.17.0", "5.17.1"), "5.17.5", 0.8),
    AppSpec("Slack", "com.tinyspeck.slackmacgap", "/Applications/Slack.app",
            ("4.35.126", "4.35.131", "4.36.134"), "4.36.140", 0.85),
    AppSpec("Safari", "com.apple.Safari", "/Applications/Safari.app", ("17.6", "18.1"), None, 1.0),
    AppSpec("Microsoft Word", "com.microsoft.Word", "/Applications/Microsoft Word.app",
            ("16.78", "16.90"), None, 0.6),
)  # fmt: skip
# Keeps the app table honest: every remediation ticket's app is in the fleet with its real target.
assert {a.bundle_id: a.target for a in _APPS if a.target} == {
    f.bundle_id: f.target_version for f in REMEDIATION_FACTS.values()
}
APPS: dict[str, AppSpec] = {a.bundle_id: a for a in _APPS}
_AHEAD = {"120.0.6099.109": ("120.0.6099.109", "120.0.6099.129"), "5.17.5": ("5.17.5", "5.17.10"),
          "4.36.140": ("4.36.140", "4.37.94")}  # fmt: skip

# Boot drives as Jamf reports them (decimal megabytes) with the model string of an Apple SSD that size.
DISKS: tuple[tuple[int, str], ...] = ((251_000, "APPLE SSD AP0256Q"), (500_277, "APPLE SSD AP0512Q"),
                                      (1_000_240, "APPLE SSD AP1024Q"))  # fmt: skip
# Free space on a full boot drive: below every simulated package (the smallest is 187 MB).
FULL_DISK_MB = (40, 180)

_PARTS = re.compile(r"\d+|[A-Za-z]+")


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """A sort key comparing dotted versions numerically: ``10 > 9``, ``120.0.6099.109 > 120.0.6099.71``.

    Any non-digit run separates parts, letters sort after numbers in the same position and trailing zeros
    are dropped: "1.0" equals "1.0.0", "5.17.5 (23010)" is newer than "5.17.5" (the build counts) and a
    suffix such as "2.0b1" sorts after "2.0" (no pre-release semantics: vendors disagree on them).
    """
    parts: list[tuple[int, int | str]] = [
        (0, int(p)) if p.isdigit() else (1, p.lower()) for p in _PARTS.findall(version)
    ]
    while parts and parts[-1] == (0, 0):
        parts.pop()
    return tuple(parts)


def compare_versions(a: str, b: str) -> int:
    """-1, 0 or 1 as ``a`` is older than, the same as, or newer than ``b``."""
    ka, kb = version_key(a), version_key(b)
    return (ka > kb) - (ka < kb)


def known_versions(bundle_id: str) -> list[str]:
    """Every version of an app the fleet table knows, newest first: what a vendor's patch feed lists.

    The newest is often past the remediation target (Chrome 120.0.6099.129 came after .109), as in life:
    a patch feed's "latest" is the vendor's newest release, not the version a ticket asks for.
    """
    spec = APPS[bundle_id]
    found = {*spec.old_versions, *([spec.target] if spec.target else []), *_AHEAD.get(spec.target or "", ())}
    return sorted(found, key=version_key, reverse=True)


@dataclass(frozen=True)
class Fate:
    """What happens when a policy reaches a device: after ``delay`` simulated seconds it checks in and
    succeeds, fails for good (``permanent``), or fails once (``transient``) and succeeds ``retry`` later."""

    kind: Literal["success", "permanent", "transient"]
    delay: float
    reason: str = ""
    retry: float = 0.0


@dataclass
class Device:
    index: int
    id: str
    name: str
    serial: str
    udid: str
    department: str
    os_version: str
    last_contact: float  # simulated seconds
    offline: bool  # not seen for 30+ days: policies never reach it
    disk_size_mb: int  # the boot drive, one of DISKS
    free_disk_mb: int  # available on the boot drive, as the last inventory reported it
    apps: dict[str, str] = field(default_factory=dict)  # bundle id -> installed version

    def version_of(self, bundle_id: str) -> str | None:
        return self.apps.get(bundle_id)

    @property
    def username(self) -> str:
        return f"user{self.index + 1:05d}"

    @property
    def mac_address(self) -> str:
        number = self.index + 1
        return "A4:83:E7:" + ":".join(f"{(number >> shift) & 0xFF:02X}" for shift in (16, 8, 0))

    @property
    def disk_model(self) -> str:
        return next((model for size, model in DISKS if size == self.disk_size_mb), DISKS[0][1])

    def fill_disk(self) -> None:
        """The boot drive is full: report less free space than the smallest package needs (deterministic)."""
        low, high = FULL_DISK_MB
        self.free_disk_mb = min(self.free_disk_mb, low + self.index * 7_919 % (high - low))


@dataclass
class Fleet:
    devices: list[Device]
    seed: int
    failure_rate: float = 0.03
    transient_rate: float = 0.02

    @classmethod
    def generate(
        cls, n: int = 900, seed: int = 42, failure_rate: float = 0.03, offline_rate: float = 0.005,
        transient_rate: float = 0.02,
    ) -> Fleet:  # fmt: skip
        """``n`` Macs, the same ones for the same ``seed``; ~``offline_rate`` of them offline for 30+ days."""
        rng = random.Random(seed)
        disks = random.Random(f"storage:{seed}")  # a stream of its own: ``rng``'s draws are as they always were
        devices = [_device(rng, disks, i, offline_rate) for i in range(n)]
        _roll_out(devices, seed)
        return cls(devices, seed, failure_rate, transient_rate)

    def __len__(self) -> int:
        return len(self.devices)

    def by_id(self, device_id: str | int) -> Device | None:
        try:
            index = int(device_id) - 1
        except ValueError:
            return None
        return self.devices[index] if 0 <= index < len(self.devices) else None

    def version_counts(self, bundle_id: str) -> dict[str, int]:
        """How many Macs run each version of an app, as they are now (Macs without it are not counted)."""
        return dict(Counter(d.apps[bundle_id] for d in self.devices if bundle_id in d.apps))

    def ring(self, name: str) -> list[Device]:
        """The members of a seeded rollout ring (or of :data:`ALL_MACS`)."""
        if name == ALL_MACS:
            return list(self.devices)
        low, high = RINGS[name]
        return [d for d in self.devices if low <= d.index % 100 < high]

    def fate(self, device: Device, policy_id: int) -> Fate:
        """The device's deterministic fate for one policy: the same in every run with the same seed."""
        rng = random.Random((self.seed * 1_000_003 + policy_id) * 10_000_019 + device.index)
        delay = rng.uniform(15 * 60, DAY)  # Macs check in every 15 min, but some sleep until tomorrow
        roll = rng.random()
        if roll < self.failure_rate:
            return Fate("permanent", delay, rng.choice(PERMANENT_REASONS))
        if roll < self.failure_rate + self.transient_rate:
            return Fate("transient", delay, TRANSIENT_REASON, retry=rng.uniform(15 * 60, 6 * 3600))
        return Fate("success", delay)


def _device(rng: random.Random, disks: random.Random, index: int, offline_rate: float) -> Device:
    number = index + 1
    offline = rng.random() < offline_rate
    seen = -rng.uniform(31 * DAY, 120 * DAY) if offline else -rng.uniform(0, 3 * DAY)
    apps: dict[str, str] = {}
    for app in _APPS:
        if rng.random() >= app.share:
            continue
        # Most Macs lag behind; ~4% already run the target (or newer), as early updaters do.
        if app.target and rng.random() < 0.04:
            apps[app.bundle_id] = rng.choice(_AHEAD[app.target])
        else:
            apps[app.bundle_id] = rng.choice(app.old_versions)
    disk_size = disks.choice(DISKS)[0]
    return Device(
        index=index, id=str(number), name=f"MAC-{number:05d}", serial=f"C02{number:07d}X", udid=_udid(number),
        department=DEPARTMENTS[rng.randrange(len(DEPARTMENTS))], os_version=rng.choice(MACOS_VERSIONS),
        last_contact=seen, offline=offline, disk_size_mb=disk_size,
        free_disk_mb=int(disk_size * disks.uniform(0.05, 0.7)), apps=apps,
    )  # fmt: skip


def _roll_out(devices: list[Device], seed: int) -> None:
    """Update each app of :data:`ROLLED_OUT` to its target on about that share of the online Macs behind it.
    Each Mac draws from a random stream of its own (seed, app, index), so no other draw (apps, fates, disks)
    changes and a longer fleet still starts with the same Macs."""
    for bundle_id, share in ROLLED_OUT.items():
        target = APPS[bundle_id].target
        assert target is not None
        for device in devices:
            installed = device.apps.get(bundle_id)
            if installed is None or device.offline or compare_versions(installed, target) >= 0:
                continue
            if random.Random(f"rollout:{seed}:{bundle_id}:{device.index}").random() < share:
                device.apps[bundle_id] = target


def _udid(number: int) -> str:
    digits = f"{number:032X}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"
