"""What the Jamf Pro simulator remembers: tokens, groups, packages, patch titles, policies and the fleet.

:mod:`remedy.sandbox.jamf` turns HTTP into calls here. Time is simulated (``clock`` returns seconds since
:data:`remedy.sandbox.seed.NOW`); ``advance`` moves it and lets every device whose check-in falls due run
the enabled policies scoped to it, so compliance climbs as a test moves the clock. A request Jamf refuses
raises :class:`JamfProblem`; the HTTP layer words it as the Jamf Pro API (JSON) or Classic API (HTML) does.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import secrets
import threading
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from remedy.sandbox.faults import Faults, InjectedFailure
from remedy.sandbox.fleet import ALL_MACS, DISK_SPACE_REASON, RINGS, Device, Fate, Fleet, compare_versions
from remedy.sandbox.seed import REMEDIATION_FACTS


class JamfProblem(Exception):
    """A request Jamf refuses; ``field`` names the offending field for the Jamf Pro API error body."""

    def __init__(self, status: int, message: str, field: str | None = None, code: str = "INVALID_FIELD") -> None:
        super().__init__(message)
        self.status, self.message, self.field, self.code = status, message, field, code


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: str
    status: int
    at: float  # time.monotonic(): lets pacing tests measure gaps between requests


@dataclass
class Group:
    id: int
    name: str
    smart: bool
    members: list[int]  # device indexes, ascending
    criteria: list[dict[str, object]] = field(default_factory=list)
    description: str = ""


@dataclass(frozen=True)
class PatchTitle:
    """A patch software title configuration: one app Jamf compares with its vendor's release feed."""

    id: int
    display_name: str
    bundle_id: str  # the simulator's link to the fleet; Jamf's schema has no bundle id here
    software_title_id: str  # the patch source's id for the app, unrelated to ``id``


@dataclass(frozen=True)
class Package:
    id: int
    package_name: str
    file_name: str
    version: str  # what installing it leaves on the Mac
    bundle_id: str
    size: str
    # The file once uploaded (upload_package), as a callable: a 200 MB body is generated as it is served.
    content: Callable[[], Iterable[bytes]] | None = field(default=None, repr=False, compare=False)
    digest: str | None = None  # of ``content``, in the hash_type's algorithm
    hash_type: str = "SHA_512"

    @property
    def hash_value(self) -> str:
        return self.digest or hashlib.sha512(self.file_name.encode()).hexdigest()  # a stand-in without a file


@dataclass
class Policy:
    id: int
    name: str
    enabled: bool = False
    trigger_checkin: bool = False
    frequency: str = "Once per computer"
    group_ids: list[int] = field(default_factory=list)
    packages: list[tuple[int, str]] = field(default_factory=list)  # (package id, action)


@dataclass(frozen=True)
class PolicyLog:
    device_id: str
    status: Literal["Completed", "Failed"]
    reason: str  # the simulator's own record: Jamf's computer history does not carry it
    at: float  # simulated seconds
    policy_id: int = 0  # last, with a default: positional construction keeps working


@dataclass(frozen=True)
class Compliance:
    compliant: int
    total: int  # Macs that have the app at all; the others are not exposed
    behind: tuple[str, ...]  # ids of the Macs still below the version

    @property
    def ratio(self) -> float:
        return self.compliant / self.total if self.total else 1.0


def _seed_packages() -> dict[int, Package]:
    found = [(f.app_name, f.bundle_id, f.target_version) for f in REMEDIATION_FACTS.values()]
    found.append(("Google Chrome", "com.google.Chrome", "119.0.6045.199"))  # the rollback package
    packages = {}
    for number, (app, bundle_id, version) in enumerate(found, start=1):
        file_name = f"{app.replace(' ', '')}-{version}.pkg"
        packages[number] = Package(number, file_name.removesuffix(".pkg"), file_name, version, bundle_id,
                                   f"{150 + 37 * number}MB")  # fmt: skip
    return packages


PILOT_STATIC = "Pilot"  # hand-picked pilot Macs for tickets whose app has no "Pilot - {app}" smart group


def _seed_patch_titles() -> dict[int, PatchTitle]:
    # Patch source ids number Jamf's catalogue, not our titles: offset so a client mixing them up is caught.
    facts = enumerate(REMEDIATION_FACTS.values(), start=1)
    return {n: PatchTitle(n, f.app_name, f.bundle_id, str(40 + 3 * n)) for n, f in facts}


@dataclass
class JamfState(Faults):
    fleet: Fleet = field(repr=False)  # 100k Macs in a failing test's output would hide the failure
    client_id: str = "remedy-sandbox"
    client_secret: str = "sandbox-jamf-secret"
    token_lifetime: int = 1200  # seconds, Jamf's default for API clients
    clock: Callable[[], float] | None = None  # simulated seconds; None: the internal one advance() moves
    latency: float = 0.0
    failures: list[InjectedFailure] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)
    groups: dict[int, Group] = field(default_factory=dict)
    packages: dict[int, Package] = field(default_factory=_seed_packages)
    policies: dict[int, Policy] = field(default_factory=dict)
    patch_titles: dict[int, PatchTitle] = field(default_factory=_seed_patch_titles)
    tokens: dict[str, float] = field(default_factory=dict)  # token -> expiry (simulated seconds)
    orders: dict[str, list[Device]] = field(default_factory=dict)  # inventory sort orders, cached
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _elapsed: float = field(default=0.0, init=False)
    # Queued check-ins as (time, seq, policy id, device index); seq keeps equal times in queue order.
    _due: list[tuple[float, int, int, int]] = field(default_factory=list, init=False)
    _scheduled: set[tuple[int, int]] = field(default_factory=set, init=False)  # (policy, device index) queued/run
    _logs: dict[int, list[PolicyLog]] = field(default_factory=dict, init=False)  # by policy id
    _device_logs: dict[int, list[PolicyLog]] = field(default_factory=dict, init=False)  # by device index
    _seq: int = field(default=0, init=False)
    _retried: set[tuple[int, int]] = field(default_factory=set, init=False)
    _fates: dict[tuple[int, int], Fate] = field(default_factory=dict, init=False)  # drawn once, reused at check-in

    @classmethod
    def seeded(cls, n: int = 900, seed: int = 42, failure_rate: float = 0.03) -> JamfState:
        state = cls(Fleet.generate(n, seed, failure_rate=failure_rate))
        for name in [*RINGS, ALL_MACS]:
            state.groups[len(state.groups) + 1] = Group(len(state.groups) + 1, name, True,
                                                        [d.index for d in state.fleet.ring(name)])  # fmt: skip
        # Smart and static groups share Jamf's id space: the static pilot takes the next id (5) and holds the
        # Chrome pilot's Macs, so tickets for other apps have a pilot ring too.
        pilot = [d.index for d in state.fleet.ring("Pilot - Chrome")]
        state.groups[len(state.groups) + 1] = Group(len(state.groups) + 1, PILOT_STATIC, False, pilot,
                                                    description="Hand-picked pilot Macs")  # fmt: skip
        return state

    def now(self) -> float:
        return self.clock() if self.clock is not None else self._elapsed

    # -- steering, for tests ------------------------------------------------------------------
    def advance(self, seconds: float) -> None:
        """Move simulated time on and let every check-in that falls due run its policies."""
        with self.lock:
            self._elapsed += seconds
            self.run_due()

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens = dict.fromkeys(self.tokens, self.now())

    # -- auth -------------------------------------------------------------------------------------
    def issue_token(self, client_id: str, client_secret: str) -> str | None:
        ok = hmac.compare_digest(client_id.encode(), self.client_id.encode())
        if not (hmac.compare_digest(client_secret.encode(), self.client_secret.encode()) and ok):
            return None
        token = secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[token] = self.now() + self.token_lifetime
        return token

    # -- lookups, for handlers and tests ---------------------------------------------------------
    def device(self, device_id: str | int) -> Device:
        found = self.fleet.by_id(device_id)
        if found is None:
            raise JamfProblem(404, f"Computer {device_id} not found", "id", "INVALID_ID")
        return found

    def group(self, group_id: str | int, smart: bool | None = None) -> Group:
        """A computer group of either kind, or only of the kind ``smart`` names (the other kind is a 404)."""
        found = self.groups.get(_int(group_id))
        if found is None or (smart is not None and found.smart != smart):
            raise JamfProblem(404, f"Group with id {group_id} not found", "id", "INVALID_ID")
        return found

    def patch_title(self, title_id: str | int) -> PatchTitle:
        found = self.patch_titles.get(_int(title_id))
        if found is None:
            raise JamfProblem(404, f"Patch software title configuration {title_id} not found", "id", "INVALID_ID")
        return found

    def package(self, package_id: str | int) -> Package:
        found = self.packages.get(_int(package_id))
        if found is None:
            raise JamfProblem(404, f"Package with id {package_id} not found", "id", "INVALID_ID")
        return found

    def policy(self, policy_id: str | int) -> Policy:
        found = self.policies.get(_int(policy_id))
        if found is None:
            raise JamfProblem(404, "The server has not found anything matching the request URI")
        return found

    def policy_logs(self, policy_id: int) -> list[PolicyLog]:
        with self.lock:
            return list(self._logs.get(policy_id, []))

    def device_policy_logs(self, device_id: str | int) -> list[PolicyLog]:
        """Every policy run on one Mac, newest first (runs at the same moment: the last recorded first)."""
        with self.lock:
            logs = list(self._device_logs.get(self.device(device_id).index, []))
        return sorted(reversed(logs), key=lambda log: log.at, reverse=True)

    def compliance(self, bundle_id: str, version: str, device_ids: list[str] | None = None) -> Compliance:
        """How many Macs with the app run ``version`` or newer, by the simulator's own version compare."""
        devices = self.fleet.devices if device_ids is None else [self.device(i) for i in device_ids]
        having = [(d.id, d.apps[bundle_id]) for d in devices if bundle_id in d.apps]
        behind = tuple(i for i, v in having if compare_versions(v, version) < 0)
        return Compliance(len(having) - len(behind), len(having), behind)

    # -- changes, with Jamf's rules -------------------------------------------------------------
    def upload_package(self, name: str, file_name: str, content: bytes | Callable[[], Iterable[bytes]], *,
                       version: str = "", bundle_id: str = "", hash_type: str = "SHA_512") -> Package:
        """Store a file and its hash (SHA_512 or SHA3_512, computed a chunk at a time) as Jamf does. A file
        name Jamf has keeps its package id, version and app (a re-upload); any other is a new package."""
        body = content if callable(content) else (lambda: [content])
        digest, size = hashlib.new("sha3_512" if hash_type == "SHA3_512" else "sha512"), 0
        for piece in body():
            digest.update(piece)
            size += len(piece)
        shown = f"{size >> 20}MB" if size >= 1 << 20 else f"{max(1, size >> 10)}KB"
        with self.lock:
            old = next((p for p in self.packages.values() if p.file_name == file_name), None)
            ident, version, bundle_id = (old.id, version or old.version, bundle_id or old.bundle_id) if old else (
                max(self.packages, default=0) + 1, version, bundle_id)  # fmt: skip
            self.packages[ident] = Package(ident, name, file_name, version, bundle_id, shown, body, digest.hexdigest(),
                                           hash_type)  # fmt: skip
            return self.packages[ident]

    def add_smart_group(self, name: str, criteria: list[dict[str, object]], description: str = "") -> Group:
        with self.lock:
            self._name_free(name, 0)
            # Criteria are stored, not evaluated: a new group starts with no members.
            group = Group(max(self.groups, default=0) + 1, name, True, [], criteria, description)
            self.groups[group.id] = group
            return group

    def save_static_group(self, group_id: int, name: str, computer_ids: list[str] | None, description: str) -> Group:
        """Create (``group_id == 0``) or replace a static group; ``computer_ids`` None keeps the members."""
        with self.lock:
            current = self.group(group_id, smart=False) if group_id else None
            self._name_free(name, group_id)
            found = [self.fleet.by_id(number) for number in computer_ids or []]
            if any(device is None for device in found):
                raise JamfProblem(400, "Could not save static computer group: unknown computer id", "assignments")
            members = sorted({d.index for d in found if d is not None})
            if current is not None and computer_ids is None:
                members = current.members
            group = Group(group_id or max(self.groups, default=0) + 1, name, False, members, [], description)
            self.groups[group.id] = group
            for policy in self.policies.values():  # Macs added to a scoped group get the policy at check-in
                if group.id in policy.group_ids:
                    self._schedule(policy)
            return group

    def delete_static_group(self, group_id: int) -> None:
        with self.lock:
            group = self.group(group_id, smart=False)
            if any(group.id in p.group_ids for p in self.policies.values()):
                raise JamfProblem(422, "Cannot delete static computer group due to dependencies", "id")
            del self.groups[group.id]

    def _name_free(self, name: str, group_id: int) -> None:
        """Smart and static groups share names too: a name used by any other group is a duplicate."""
        if any(g.name.lower() == name.lower() and g.id != group_id for g in self.groups.values()):
            raise JamfProblem(422, "Duplicate group name", "name", "DUPLICATE_FIELD")

    def save_policy(self, policy: Policy) -> Policy:
        """Create (``policy.id == 0``) or replace a policy, enforcing unique names and known references."""
        with self.lock:
            if any(p.name.lower() == policy.name.lower() and p.id != policy.id for p in self.policies.values()):
                raise JamfProblem(409, "Error: Duplicate name")
            for group_id in policy.group_ids:
                if group_id not in self.groups:
                    raise JamfProblem(409, f"Error: Problem with computer group {group_id}")
            for package_id, _ in policy.packages:
                if package_id not in self.packages:
                    raise JamfProblem(409, f"Error: Problem with package {package_id}")
            if policy.id == 0:
                policy.id = max(self.policies, default=0) + 1
            self.policies[policy.id] = policy
            self._schedule(policy)
            return policy

    def delete_policy(self, policy_id: int) -> None:
        with self.lock:
            self.policies.pop(policy_id, None)

    # -- the rollout engine ------------------------------------------------------------------------
    def _active(self, policy: Policy) -> bool:
        return policy.enabled and policy.trigger_checkin and bool(policy.packages)

    def _in_scope(self, policy: Policy, index: int) -> bool:
        # Group members are sorted, so the membership test is a bisect instead of a list scan.
        for group_id in policy.group_ids:
            members = self.groups[group_id].members if group_id in self.groups else []
            at = bisect_left(members, index)
            if at < len(members) and members[at] == index:
                return True
        return False

    def _schedule(self, policy: Policy) -> None:
        """Queue a check-in for each in-scope Mac the policy has not reached yet (or stopped reaching)."""
        if not self._active(policy):
            return
        now = self.now()
        for group_id in policy.group_ids:
            for index in self.groups[group_id].members:
                key = (policy.id, index)
                device = self.fleet.devices[index]
                if key in self._scheduled or device.offline:
                    continue
                self._scheduled.add(key)
                fate = self._fates.setdefault(key, self.fleet.fate(device, policy.id))
                self._push(now + fate.delay, policy.id, index)

    def _push(self, at: float, policy_id: int, index: int) -> None:
        self._seq += 1
        heapq.heappush(self._due, (at, self._seq, policy_id, index))

    def run_due(self) -> None:
        """Run every queued check-in whose time has come, in time order."""
        with self.lock:
            now = self.now()
            while self._due and self._due[0][0] <= now:
                at, _, policy_id, index = heapq.heappop(self._due)
                self._check_in(at, policy_id, index)

    def _check_in(self, at: float, policy_id: int, index: int) -> None:
        policy = self.policies.get(policy_id)
        if policy is None or not self._active(policy) or not self._in_scope(policy, index):
            # Disabled or descoped meanwhile: forget it, so re-enabling or re-scoping queues it again.
            self._scheduled.discard((policy_id, index))
            return
        device = self.fleet.devices[index]
        device.last_contact = at
        fate = self._fates.get((policy_id, index)) or self.fleet.fate(device, policy_id)
        if fate.kind == "permanent":
            if fate.reason == DISK_SPACE_REASON:
                device.fill_disk()  # the inventory sent with this check-in shows the full drive
            self._log(PolicyLog(device.id, "Failed", fate.reason, at, policy_id), index)
            return
        if fate.kind == "transient" and (policy_id, index) not in self._retried:
            self._retried.add((policy_id, index))
            self._log(PolicyLog(device.id, "Failed", fate.reason, at, policy_id), index)
            self._push(at + fate.retry, policy_id, index)  # the next check-in tries again
            return
        for package_id, action in policy.packages:
            package = self.packages[package_id]
            if action.lower() in ("install", "cache and install") and package.bundle_id:
                device.apps[package.bundle_id] = package.version
        self._log(PolicyLog(device.id, "Completed", "", at, policy_id), index)

    def _log(self, log: PolicyLog, index: int) -> None:
        self._logs.setdefault(log.policy_id, []).append(log)
        self._device_logs.setdefault(index, []).append(log)


def _int(value: str | int) -> int:
    try:
        return int(value)
    except ValueError:
        return -1
