"""Fleet compliance of Chrome (com.google.Chrome ≥ 120.0.6099.109) over 100,000 Macs, the Jamf simulator
answering every request after 100 ms, next to a plain sequential paginator, in the same run.

(a) baseline: httpx, one OAuth token, then ``GET /api/v4/computers-inventory?section=APPLICATIONS&page=N
&page-size=100`` one page at a time, versions compared with ``remedy.jamf.versions.is_compliant``;
(b) remedy: ``remedy.jamf.compliance.compliance`` as shipped (``JamfClient.inventory``: bigger pages, up
to 5 in flight, streamed). Both counts must equal each other and the simulator's own ground truth.
(c) rings: ``remedy.remediation.rings.count``, what `compliance KEY` runs once a rollout started, after a
real rollout in the simulator (Pilot and Phase 1 scoped, two simulated days of check-ins): the four rings'
groups and the inventory with GENERAL (last check-in), per-ring counts and the Macs that need a person.
Its fleet count must equal the simulator's too, and its memory must stay flat like (b)'s.

The simulator runs in its own process, so tracemalloc here sees the client only. Times are taken with
tracemalloc off (it slows every allocation, remedy's parsing more than the baseline's waiting); peak
memory comes from separate runs with the latency off: the baseline at the full fleet, remedy at a tenth
of it and at the full fleet. Goal: remedy ≥ 4× faster than the baseline, with flat memory: ten times the
Macs must cost less than twice the peak. ``BENCH_FLEET`` and ``BENCH_PAGE_LATENCY`` (seconds) shrink it.
"""

from __future__ import annotations

import inspect
import multiprocessing
import os
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta
from multiprocessing.connection import Connection
from typing import Any, NamedTuple

import httpx
from results import record  # a sibling module: benchmarks run as scripts

from remedy.jamf.client import JamfClient
from remedy.jamf.compliance import compliance
from remedy.jamf.versions import is_compliant
from remedy.remediation import rings
from remedy.remediation.facts import Facts
from remedy.remediation.store import RingView
from remedy.sandbox.jamf import JamfState, create_app
from remedy.sandbox.jamf_state import Policy
from remedy.sandbox.seed import NOW, REMEDIATION_FACTS
from remedy.sandbox.server import start

FLEET = int(os.environ.get("BENCH_FLEET", "100000"))
LATENCY = float(os.environ.get("BENCH_PAGE_LATENCY", "0.1"))
SMALL_FLEET = max(1, FLEET // 10)
BASELINE_PAGE_SIZE = 100
GOAL_SPEEDUP = 4.0
FLAT_LIMIT = 2.0  # peak at 10× the Macs over peak at 1×; streaming should stay near 1×
_INVENTORY = inspect.signature(JamfClient.inventory).parameters
# Below two full windows of in-flight pages the smaller fleet never fills the pipeline, so its peak
# understates the plateau and "flat" cannot be judged (a quick run with a small BENCH_FLEET).
FLAT_MIN_FLEET = 2 * _INVENTORY["page_size"].default * _INVENTORY["concurrency"].default
CHROME = REMEDIATION_FACTS["CPE-3222"]
INVENTORY_PATH = "/api/v4/computers-inventory"
DAY = 86_400.0
# The simulator's seeded groups and package 1 (Chrome at the target); the plan of CPE-3222's rings.
RING_PLAN = (("pilot", "Pilot", 1, "Pilot - Chrome", 90.0), ("phase1", "Phase 1", 2, "Phase 1", 95.0),
             ("phase2", "Phase 2", 3, "Phase 2", 95.0), ("full", "All Macs", 4, "All Managed Macs", 95.0))
STARTED_RINGS = ("pilot", "phase1")


class Counts(NamedTuple):
    with_app: int
    compliant: int
    missing_app: int


# -- the simulator, in a child process ------------------------------------------------------------------
def _simulate(n: int, conn: Connection) -> None:
    """Child process: serve a seeded fleet of ``n`` Macs and answer steering commands over ``conn``."""
    state = JamfState.seeded(n=n, seed=42)
    sim = start(create_app(state), state)
    conn.send((sim.url, state.client_id, state.client_secret))
    try:
        while True:
            command, *args = conn.recv()
            if command == "latency":
                state.set_latency(float(args[0]))
                conn.send(None)
            elif command == "truth":
                truth = state.compliance(CHROME.bundle_id, CHROME.target_version)
                conn.send((truth.compliant, truth.total))
            elif command == "requests":
                conn.send(len(state.requests))
            elif command == "rollout":
                conn.send(_roll_out(state))
            else:
                break
    except EOFError:  # the parent went away: nothing left to serve
        pass
    finally:
        sim.stop()


def _roll_out(state: JamfState) -> tuple[float, float]:
    """Chrome's policy scoped to the started rings' groups and enabled, then two simulated days of
    check-ins (most Macs update, ~3% fail for good). Returns (when it started, now) in simulated seconds."""
    started = state.now()
    groups = [group for name, _, group, _, _ in RING_PLAN if name in STARTED_RINGS]
    state.save_policy(Policy(0, "bench Chrome", enabled=True, trigger_checkin=True, group_ids=groups,
                             packages=[(1, "Install")]))  # fmt: skip
    state.advance(2 * DAY)
    return started, state.now()


@dataclass
class Sim:
    """The parent's handle on one simulator process."""

    url: str
    client_id: str
    client_secret: str
    conn: Connection

    def ask(self, *command: Any) -> Any:
        self.conn.send(command)
        return self.conn.recv()


@contextmanager
def simulator(n: int) -> Iterator[Sim]:
    # spawn, not fork: a forked child would share the parent's heap pages and imports by accident.
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_simulate, args=(n, child), daemon=True)
    proc.start()
    try:
        url, client_id, client_secret = parent.recv()
        yield Sim(url, client_id, client_secret, parent)
    finally:
        with suppress(OSError):  # the child may already be gone
            parent.send(("stop",))
        proc.join(timeout=10)
        if proc.is_alive():
            proc.terminate()
            proc.join(timeout=5)


# -- the two computations ---------------------------------------------------------------------------------
def baseline(sim: Sim) -> Counts:
    """The plain paginator: one token, then page after page of 100 Macs, each waited for in turn."""
    with_app = compliant = missing = 0
    with httpx.Client(base_url=sim.url, timeout=30, headers={"Accept": "application/json"}) as http:
        answer = http.post("/api/oauth/token", data={"grant_type": "client_credentials", "client_id": sim.client_id,
                                                     "client_secret": sim.client_secret})  # fmt: skip
        answer.raise_for_status()
        http.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
        page = 0
        while True:
            params: dict[str, Any] = {"section": "APPLICATIONS", "page": page, "page-size": BASELINE_PAGE_SIZE}
            response = http.get(INVENTORY_PATH, params=params)
            response.raise_for_status()
            body = response.json()
            for computer in body["results"]:
                installed = _installed(computer, CHROME.bundle_id)
                if installed is None:
                    missing += 1
                    continue
                with_app += 1
                compliant += is_compliant(installed, CHROME.target_version)
            page += 1
            if not body["results"] or page * BASELINE_PAGE_SIZE >= body["totalCount"]:
                return Counts(with_app, compliant, missing)


def _installed(computer: dict[str, Any], bundle_id: str) -> str | None:
    # The first copy listed counts, as in remedy's Computer.from_api (a second copy may sit in ~/Downloads).
    for app in computer.get("applications") or []:
        version = app.get("version") or app.get("cfBundleShortVersionString")
        if app.get("bundleId") == bundle_id and version:
            return str(version)
    return None


def remedy(sim: Sim) -> Counts:
    """The project's computation, with its own defaults (page size, concurrency)."""
    with JamfClient(sim.url, sim.client_id, sim.client_secret, timeout=30) as client:
        count = compliance(client, CHROME.bundle_id, CHROME.target_version)
    if len(count.behind) != count.total_with_app - count.compliant:
        raise AssertionError(f"remedy's behind list has {len(count.behind)} ids for {count}")
    return Counts(count.total_with_app, count.compliant, count.missing_app)


def ring_counts(started: float, now: float) -> Callable[[Sim], Counts]:
    """rings.count as `compliance KEY` calls it once the rollout started (Pilot done, Phase 1 active)."""
    at, moment = NOW + timedelta(seconds=started), NOW + timedelta(seconds=now)
    facts = Facts("CPE-3222", CHROME.app_name, CHROME.bundle_id, CHROME.target_version)
    plan = [RingView(i, name, label, group, group_name, threshold, 24.0,
                     ("done" if i == 0 else "active") if name in STARTED_RINGS else "pending",
                     at if name in STARTED_RINGS else None)
            for i, (name, label, group, group_name, threshold) in enumerate(RING_PLAN)]

    def run(sim: Sim) -> Counts:
        with JamfClient(sim.url, sim.client_id, sim.client_secret, timeout=30) as client:
            counted = rings.count(client, facts, plan, moment)
        fleet, by_ring = counted.fleet, counted.rings
        # "All Managed Macs" holds every Mac, so the rings share out the whole fleet between them.
        if (sum(r.with_app for r in by_ring), sum(r.compliant for r in by_ring)) != (fleet.total_with_app,
                                                                                       fleet.compliant):
            raise AssertionError(f"the rings do not add up to the fleet: {by_ring} vs {fleet}")
        if any(len(r.behind) > rings.BEHIND_KEPT for r in by_ring) or not counted.flagged_failed:
            raise AssertionError(f"rings kept {[len(r.behind) for r in by_ring]} Macs behind, "
                                 f"{counted.flagged_failed} failures in the started rings")
        return Counts(fleet.total_with_app, fleet.compliant, fleet.missing_app)

    return run


# -- measuring --------------------------------------------------------------------------------------------
@dataclass
class Run:
    counts: Counts
    seconds: float = 0.0
    peak_bytes: int = 0
    requests: int = 0


def timed(compute: Callable[[Sim], Counts], sim: Sim) -> Run:
    before = sim.ask("requests")
    started = time.perf_counter()
    counts = compute(sim)
    took = time.perf_counter() - started
    return Run(counts, seconds=took, requests=sim.ask("requests") - before)


def peak(compute: Callable[[Sim], Counts], sim: Sim) -> Run:
    # A fresh start per run: stop() drops the traces, so one run's leftovers never count in the next.
    tracemalloc.start()
    try:
        counts = compute(sim)
        _, peak_bytes = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return Run(counts, peak_bytes=peak_bytes)


def check(name: str, run: Run, sim: Sim) -> None:
    """Both computations must agree with the simulator's own count, or their times mean nothing."""
    compliant, total = sim.ask("truth")
    if (run.counts.compliant, run.counts.with_app) != (compliant, total):
        raise AssertionError(f"{name} counted {run.counts}, the simulator {compliant} of {total}")


def measure(small: Sim, full: Sim) -> dict[str, Run]:
    """Memory first (latency off; it also warms the simulator's sort caches), then the timed runs."""
    for sim in (small, full):
        sim.ask("latency", 0.0)
    runs = {"remedy@small": peak(remedy, small), "baseline@full": peak(baseline, full),
            "remedy@full": peak(remedy, full)}  # fmt: skip
    full.ask("latency", LATENCY)
    runs["baseline"] = timed(baseline, full)
    runs["remedy"] = timed(remedy, full)
    for name, run in runs.items():
        check(name, run, small if name.endswith("@small") else full)
    if runs["baseline"].counts != runs["remedy"].counts:
        raise AssertionError(f"baseline {runs['baseline'].counts} != remedy {runs['remedy'].counts}")
    return runs | measure_rings(small, full)  # after the checks above: the rollout changes the fleet


def measure_rings(small: Sim, full: Sim) -> dict[str, Run]:
    """The rollout in both simulators, then rings.count: memory first (latency off), then timed."""
    on_small, on_full = (ring_counts(*sim.ask("rollout")) for sim in (small, full))
    full.ask("latency", 0.0)
    runs = {"rings@small": peak(on_small, small), "rings@full": peak(on_full, full)}
    full.ask("latency", LATENCY)
    runs["rings"] = timed(on_full, full)
    for name, run in runs.items():
        check(name, run, small if name.endswith("@small") else full)
    return runs


def report(runs: dict[str, Run]) -> bool:
    base, ours = runs["baseline"], runs["remedy"]
    speedup = base.seconds / ours.seconds
    growth = runs["remedy@full"].peak_bytes / runs["remedy@small"].peak_bytes
    counts = ours.counts
    print(f"\nChrome ≥ {CHROME.target_version} over {FLEET:,} Macs, {LATENCY * 1000:.0f} ms per request: "
          f"{counts.compliant:,} of {counts.with_app:,} with the app compliant, {counts.missing_app:,} without it")
    print(f"  {'':34} {'time':>9} {'requests':>9} {'peak memory':>12}")
    print(f"  {'baseline (100 a page, 1 at a time)':34} {base.seconds:8.2f}s {base.requests:9,} "
          f"{_mb(runs['baseline@full'].peak_bytes):>12}")
    print(f"  {'remedy (compliance() as shipped)':34} {ours.seconds:8.2f}s {ours.requests:9,} "
          f"{_mb(runs['remedy@full'].peak_bytes):>12}")
    print(f"  {f'remedy at {SMALL_FLEET:,} Macs':34} {'':>9} {'':>9} {_mb(runs['remedy@small'].peak_bytes):>12}")
    rings_run = runs["rings"]
    print(f"  {'rings.count (4 rings, rollout on)':34} {rings_run.seconds:8.2f}s {rings_run.requests:9,} "
          f"{_mb(runs['rings@full'].peak_bytes):>12}")
    print(f"  {f'rings.count at {SMALL_FLEET:,} Macs':34} {'':>9} {'':>9} {_mb(runs['rings@small'].peak_bytes):>12}")
    print(f"speed-up baseline/remedy: {speedup:.1f}×   (goal ≥ {GOAL_SPEEDUP:.0f}×)")
    judged = SMALL_FLEET >= FLAT_MIN_FLEET
    note = "" if judged else f", not judged: {SMALL_FLEET:,} Macs do not fill the pages in flight"
    print(f"remedy peak, {FLEET:,} vs {SMALL_FLEET:,} Macs: {growth:.2f}×   (goal flat: < {FLAT_LIMIT:.0f}×{note})")
    ok = speedup >= GOAL_SPEEDUP and (growth < FLAT_LIMIT or not judged)
    record(f"compliance over {FLEET:,} Macs vs a sequential paginator", ours.seconds, base.seconds,
           f"≤ {1 / GOAL_SPEEDUP:.2f}× (≥ {GOAL_SPEEDUP:.0f}× faster)", speedup >= GOAL_SPEEDUP)
    record(f"peak memory, {FLEET:,} vs {SMALL_FLEET:,} Macs", runs["remedy@full"].peak_bytes / 2**20,
           runs["remedy@small"].peak_bytes / 2**20, f"< {FLAT_LIMIT:.0f}× (flat)", growth < FLAT_LIMIT or not judged,
           "MiB")
    ok = report_rings(runs) and ok
    print("RESULT:", "goal met" if ok else "goal MISSED")
    return ok


def report_rings(runs: dict[str, Run]) -> bool:
    """rings.count against the same baseline and the same flat-memory goal as compliance()."""
    speedup = runs["baseline"].seconds / runs["rings"].seconds
    full, small = runs["rings@full"].peak_bytes, runs["rings@small"].peak_bytes
    growth, judged = full / small, SMALL_FLEET >= FLAT_MIN_FLEET
    print(f"speed-up baseline/rings.count: {speedup:.1f}×   (goal ≥ {GOAL_SPEEDUP:.0f}×; it also reads GENERAL "
          "and the rings' groups)")
    note = "" if judged else ", not judged"
    print(f"rings.count peak, {FLEET:,} vs {SMALL_FLEET:,} Macs: {growth:.2f}×   "
          f"(goal flat: < {FLAT_LIMIT:.0f}×{note})")
    record(f"ring compliance (rings.count) over {FLEET:,} Macs vs a sequential paginator", runs["rings"].seconds,
           runs["baseline"].seconds, f"≤ {1 / GOAL_SPEEDUP:.2f}× (≥ {GOAL_SPEEDUP:.0f}× faster)",
           speedup >= GOAL_SPEEDUP)
    record(f"rings.count peak memory, {FLEET:,} vs {SMALL_FLEET:,} Macs", full / 2**20, small / 2**20,
           f"< {FLAT_LIMIT:.0f}× (flat)", growth < FLAT_LIMIT or not judged, "MiB")
    return speedup >= GOAL_SPEEDUP and (growth < FLAT_LIMIT or not judged)


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def main() -> int:
    with ExitStack() as stack:
        small = stack.enter_context(simulator(SMALL_FLEET))
        full = stack.enter_context(simulator(FLEET))
        runs = measure(small, full)
    return 0 if report(runs) else 1


if __name__ == "__main__":
    sys.exit(main())
