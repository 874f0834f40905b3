"""SIGKILL a real `remedy worker` at random points, 20 times, while it runs comment / move (+subtasks) /
escalate / Go / batch comment: every command ends applied exactly once, and the user's ⏳ ends ✅ (or
❌ with a Retry button).

The kill goes to the worker's process group (the RQ worker and the work horse it forked for the job),
as when a machine dies. Simulators take 50–150 ms a request, half before handling it and half after, so
jobs last long enough to be cut anywhere — including after Jira wrote but before remedy heard back.
A fresh worker is started after each kill; RQ finds the dead run in its started registry (the 90 s
heartbeat wait is compressed, see Stack.expire_started) and, through workers.failures.on_failure,
retries it once (REMEDY_RETRY_DELAYS=[0]) or ends it ❌ with a Retry button, which the test presses.

Replay a failure with the seed it prints: REMEDY_CHAOS_SEED=<seed> make chaos.
"""

from __future__ import annotations

import contextlib
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.chaos.commands import STARTS, Run, finished, report, retry_after_done
from tests.chaos.conftest import ChaosReport
from tests.chaos.procs import Proc, Said, Stack, stack, wait_for
from workers.main import MAINTENANCE_INTERVAL

SEED = int(os.environ.get("REMEDY_CHAOS_SEED") or random.SystemRandom().randrange(1 << 31))
KILLS = 20
COMMANDS = ("comment", "move", "escalate", "go", "batch comment")


@dataclass
class Killer:
    """Runs one command's job to the end while killing the worker under it."""

    st: Stack
    rng: random.Random
    worker: Proc
    kills: int = 0
    mid_job: int = 0
    retries_pressed: int = 0
    # How long the n-th run of each command lasts (a rerun after a kill only does what is left): kill
    # points are drawn over that span, so most land while the job runs.
    took: dict[tuple[str, int], float] = field(default_factory=dict)

    def through(self, name: str, said: Said, user: str, kills: int) -> None:
        """Kill the worker ``kills`` times from the moment ``said``'s job runs, at random points (one that
        lands after the job finished kills an idle worker); then let the job finish."""
        job_id = said.job_id
        for n in range(kills):
            wait_for(f"{name} job {job_id} to run", lambda: self._running_or_done(job_id), 60)
            delay = self.rng.uniform(0, self.took.get((name, n), 1.5 / (n + 1)))
            time.sleep(delay)
            state = getattr(self.st.status(job_id), "value", None)
            self.worker.kill()
            self.kills += 1
            self.mid_job += state == "started"
            print(f"kill {self.kills:2d}: {name} job {job_id} {delay:.3f} s in ({state})")
            if state == "finished":  # it ran shorter than thought: aim within its real span next time
                self.took[(name, n)] = max(0.1, self._duration(job_id) or delay)
            dead = self.st.expire_started(job_id)
            self.worker = self.st.worker()
            if dead:
                self._recovered(job_id, said, user)
        wait_for(f"{name} job {job_id} to finish", lambda: self.st.status(job_id) == "finished", 90)
        with contextlib.suppress(AssertionError):  # what the user sees is checked with the effects
            wait_for("its ✅", lambda: self.st.view(said.response_url).startswith("✅"), 5)

    def _running_or_done(self, job_id: str) -> str | None:
        state = getattr(self.st.status(job_id), "value", None)
        return state if state in ("started", "finished") else None

    def _duration(self, job_id: str) -> float | None:
        job = self.st.job(job_id)
        return (job.ended_at - job.started_at).total_seconds() if job.ended_at and job.started_at else None

    def _recovered(self, job_id: str, said: Said, user: str) -> None:
        """The new worker's start-up maintenance retries the dead run, or fails it (❌ + Retry)."""
        # Usually the new worker's start-up maintenance finds it. A heartbeat the killed work horse had
        # already handed to the kernel can land after expire_started, though; then the next periodic
        # maintenance does (every MAINTENANCE_INTERVAL s; the poll keeps the entry expired meanwhile).
        wait_for(f"RQ to notice job {job_id}'s dead run", lambda: self.st.status(job_id) != "started"
                 or not self.st.expire_started(job_id), MAINTENANCE_INTERVAL + 40)
        if self.st.status(job_id) != "failed":
            return
        retry = wait_for("❌ with a Retry button", lambda: self.st.retry_button(said.response_url), 30)
        self.st.press(retry, user, ephemeral=True)
        self.retries_pressed += 1
        wait_for(f"job {job_id} queued again", lambda: self.st.status(job_id) != "failed", 30)


@pytest.mark.timeout(420)
def test_worker_killed_twenty_times(chaos_pg: str, chaos_redis: str, chaos_report: ChaosReport,
                                    tmp_path: Path) -> None:
    print(f"chaos seed {SEED} (replay: REMEDY_CHAOS_SEED={SEED})")
    rng = random.Random(SEED)
    with stack(chaos_pg, chaos_redis, tmp_path, jitter=(0.05, 0.15), rng=random.Random(SEED + 1),
               REMEDY_RETRY_DELAYS="[0]") as st:
        killer = Killer(st, rng, st.worker())
        for setup in ("create jamf policy CPE-3222", "deploy pilot CPE-3222"):
            assert finished(st, st.slash(setup)).startswith("✅"), st.view(st.slash(setup).response_url)
        runs: list[Run] = []
        for name in COMMANDS:  # two commands of each kind, two kills each
            for i in range(2):
                run = STARTS[name](st, i)
                runs.append(run)
                killer.through(name, run.said, run.user, KILLS // len(COMMANDS) // 2)
        assert killer.kills == KILLS
        problems = report(st, runs, chaos_report, "worker killed", per_command=True)
        print(f"{retry_after_done(st, runs)} ⏳ ended ❌ + Retry after a ✅ (response URL used up)")
        assert not problems, f"seed {SEED}: " + "; ".join(problems)
        print(f"{killer.kills} kills ({killer.mid_job} mid-job), {killer.retries_pressed} Retry presses, "
              f"{len(runs)} commands")
        assert killer.mid_job >= KILLS // 4, "kills must land while jobs run"


