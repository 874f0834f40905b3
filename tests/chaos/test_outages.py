"""Redis and PostgreSQL taken away from remedy's processes (through a TCP proxy; the real services stay up
for the test's own view of them and for everyone else) and given back.

- Redis down when a command arrives: the user is told at once, and nothing is half-done.
- Redis cut while the worker runs jobs, then back: each job completes (or is retried) and every effect
  is there once.
- Redis cut with work queued and no worker: once it is back and a worker starts, all of it runs once.
- PostgreSQL cut while jobs run, back a few seconds later: jobs retry (REMEDY_RETRY_DELAYS short),
  nothing lost, nothing doubled.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.dispatch import QUEUE_DOWN
from remedy.db.models import AuditEvent
from tests.chaos.commands import Run, report, settle, start_comment, start_escalate, start_move
from tests.chaos.conftest import ChaosReport
from tests.chaos.procs import Stack, stack, wait_for
from tests.chaos.proxy import TcpProxy

JITTER = (0.05, 0.15)  # seconds a simulated request takes: jobs last long enough to be cut mid-way


def _commands(st: Stack, offset: int = 0) -> list[Run]:
    """Five commands of three kinds (comment, move + subtasks, escalate: DM, comment, watcher)."""
    return [start_comment(st, offset), start_comment(st, offset + 1), start_move(st, offset),
            start_move(st, offset + 1), start_escalate(st, offset)]


def _jira_writes(st: Stack) -> int:
    return sum(1 for r in st.sandbox.jira_state.requests if r.method != "GET")


def _audit_events(st: Stack) -> int:
    with st.db.session() as s:
        return int(s.scalar(select(func.count(AuditEvent.seq))) or 0)


def _cut_while_running(st: Stack, proxy: TcpProxy, runs: list[Run], down: float, rng: random.Random) -> None:
    wait_for("a job to start", lambda: any(st.status(r.said.job_id) == "started" for r in runs), 30)
    time.sleep(rng.uniform(0.05, 0.4))
    proxy.cut()
    time.sleep(down)
    proxy.restore()


@pytest.mark.timeout(120)
def test_redis_down_at_command_time(chaos_pg: str, chaos_redis: str, chaos_report: ChaosReport,
                                    tmp_path: Path) -> None:
    with stack(chaos_pg, chaos_redis, tmp_path) as st:
        st.worker()
        writes, events = _jira_writes(st), _audit_events(st)
        st.redis_proxy.cut()
        said = [st.slash(t) for t in ('comment CPE-3222 "written while Redis is down"', "move CPE-3301 to plan",
                                      "escalate CPE-3222 sarah because Redis is down")]
        st.redis_proxy.restore()
        time.sleep(2)  # a worker that had been handed anything would have done it by now
        assert all(s.answer == QUEUE_DOWN for s in said), [s.answer for s in said]
        assert max(s.took for s in said) < 3  # Slack's limit for the ack; the user is told at once
        assert (_jira_writes(st), _audit_events(st)) == (writes, events)  # nothing half-done
        assert st.sandbox.jira_state.status_of("CPE-3301") == "Investigation"
        assert st.sandbox.slack_state.all_messages() == []
        assert all(st.sandbox.slack_state.response_posts(s.response_url) == [] for s in said)
        after = st.slash('comment CPE-3222 "Redis is back"')  # and the next command works again
        wait_for("the command after the outage", lambda: st.view(after.response_url).startswith("✅"), 30)
    chaos_report.add("Redis down: at command time", runs=len(said), refused=len(said))


@pytest.mark.timeout(180)
def test_redis_cut_mid_job_then_queued_work_resumes(chaos_pg: str, chaos_redis: str, chaos_report: ChaosReport,
                                                    tmp_path: Path) -> None:
    rng = random.Random(7)
    # Retries without a delay: a worker that loses Redis mid-job quits (RQ), and its scheduler dies with
    # it holding a lock that lapses after 61 s; delayed retries would wait for the next scheduler (see
    # workers/main.py MAINTENANCE_INTERVAL), which is not what this test is about.
    with stack(chaos_pg, chaos_redis, tmp_path, jitter=JITTER, rng=rng, REMEDY_RETRY_DELAYS="[0, 0]") as st:
        worker = st.worker()
        mid = _commands(st)
        _cut_while_running(st, st.redis_proxy, mid, down=2.0, rng=rng)
        worker, restarts, presses = settle(st, mid, worker)
        print(f"Redis cut mid-job: {restarts} worker restarts, {presses} Retry presses")
        problems = report(st, mid, chaos_report, "Redis down: mid-job")

        worker.stop()  # queued work: no worker, Redis goes away and comes back, then a worker starts
        queued = _commands(st, offset=10)
        st.redis_proxy.cut()
        time.sleep(1.0)
        st.redis_proxy.restore()
        worker, restarts, presses = settle(st, queued, st.worker())
        problems += report(st, queued, chaos_report, "Redis down: queued work resumes")
    assert not problems, "; ".join(problems)


@pytest.mark.timeout(180)
def test_postgres_down_and_back(chaos_pg: str, chaos_redis: str, chaos_report: ChaosReport, tmp_path: Path) -> None:
    rng = random.Random(11)
    with stack(chaos_pg, chaos_redis, tmp_path, jitter=JITTER, rng=rng, REMEDY_RETRY_DELAYS="[1, 2, 4]") as st:
        worker = st.worker()
        runs = _commands(st)
        _cut_while_running(st, st.pg_proxy, runs, down=4.0, rng=rng)
        worker, restarts, presses = settle(st, runs, worker)
        print(f"PostgreSQL down 4 s: {restarts} worker restarts, {presses} Retry presses")
        problems = report(st, runs, chaos_report, "PostgreSQL down and back")
    assert not problems, "; ".join(problems)
