"""Load: a burst of 500 commands from 50 users over HTTP (waitress serving the Bolt app in this process,
`remedy worker` processes beside it, real Redis and PostgreSQL): every ack under Slack's 3 s, every command
completed, the queue drained. Then memory: the web app (`remedy serve` as its own process, so its memory is
nothing but its own) and the workers stay flat across 5,000 more commands.

The users are 50 people not in team.yml, so viewers: they run read commands (`compliance KEY`, `jobs`,
`help`), which is what a crowd does and what viewers may do. The memory phase sends CHAOS_LOAD_COMMANDS
(default 5,000; 1 in 20 a job) in two halves and compares the RSS after each: of the `remedy serve` process,
and of the `remedy worker` parents (RQ forks a work horse per job, so whatever a job leaks dies with it).
"""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from remedy.sandbox.run import Sandbox
from tests.chaos.conftest import ChaosReport
from tests.chaos.http_app import Served, serve, slash
from tests.conftest import ROOT

USERS = [f"U0LOAD{n:02d}" for n in range(50)]
COMMANDS = ["help", "jobs", "help", "compliance CPE-3222", "help"]  # 2 in 5 run a job, `help` is answered in the ack
# The memory phase: mostly `help` (the whole web path: signature, parse, role, ack), every 20th a `jobs` job.
MEMORY_MIX = ["help"] * 19 + ["jobs"]
MEMORY_COMMANDS = int(os.environ.get("CHAOS_LOAD_COMMANDS", "5000"))
WORKERS = 2


@pytest.fixture
def served(chaos_pg: str, chaos_redis: str) -> Iterator[Served]:
    sandbox = Sandbox.start(fleet_size=40)
    try:
        with serve(sandbox, chaos_pg, chaos_redis, threads=16) as running:
            yield running
    finally:
        sandbox.stop()


@pytest.fixture
def workers(served: Served) -> Iterator[list[subprocess.Popen[str]]]:
    procs = [subprocess.Popen([sys.executable, "-m", "remedy_cli.cli", "worker"], env={**os.environ, **served.env},
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
             for _ in range(WORKERS)]
    yield procs
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def web(served: Served) -> Iterator[tuple[Served, subprocess.Popen[str]]]:
    """`remedy serve` as its own process, beside the in-process one: its memory is the web app's alone."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "remedy_cli.cli", "serve", "--host", "127.0.0.1", "--port",
                             str(port), "--threads", "16"], env={**os.environ, **served.env}, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    yield dataclasses.replace(served, base=base), proc
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")  # pragma: no cover


def burst(served: Served, n: int, mix: list[str] = COMMANDS) -> tuple[list[float], list[tuple[str, str, str]]]:
    """Send ``n`` commands, 50 users at once; (ack seconds each, (command, ack text, response URL) each)."""

    def one(i: int, client: httpx.Client) -> tuple[float, tuple[str, str, str]]:
        text, user = mix[i % len(mix)], USERS[i % len(USERS)]
        started = time.perf_counter()
        response, url = slash(served, client, text, user=user)
        took = time.perf_counter() - started
        assert response.status_code == 200, response.text
        return took, (text, response.json()["text"], url)

    with httpx.Client(timeout=10, limits=httpx.Limits(max_connections=50)) as client, \
            ThreadPoolExecutor(max_workers=len(USERS)) as pool:
        results = list(pool.map(lambda i: one(i, client), range(n)))
    return [r[0] for r in results], [r[1] for r in results]


def wait_done(served: Served, sent: list[tuple[str, str, str]], timeout: float) -> list[str]:
    """Each command's final answer: the ack for `help`, else the ✅/❌ its job posted to the response URL."""
    deadline = time.monotonic() + timeout
    slack = served.sandbox.slack_state
    while True:
        finals = [ack if not ack.startswith("⏳") else getattr(slack.response_view(url), "text", "")
                  for _, ack, url in sent]
        pending = sum(1 for f in finals if not f or f.startswith("⏳"))
        if pending == 0 or time.monotonic() > deadline:
            return finals
        time.sleep(0.2)


def queue_drained(served: Served) -> bool:
    from rq.registry import StartedJobRegistry

    rq = served.services.queue.rq
    return rq.count == 0 and StartedJobRegistry(queue=rq).count == 0


def forget_simulated_history(served: Served) -> None:
    """The simulators keep every request and message; drop them between phases so the memory figures are
    remedy's, not the simulators' records."""
    slack, jira, jamf = served.sandbox.slack_state, served.sandbox.jira_state, served.sandbox.jamf_state
    slack.reset_calls()
    slack.ephemerals.clear()
    with slack._lock:
        slack._responses.clear()
    jira.requests.clear()
    jamf.requests.clear()


@pytest.mark.timeout(300)
def test_burst_of_500_from_50_users_then_memory_stays_flat(web: tuple[Served, subprocess.Popen[str]],
                                                           workers: list[subprocess.Popen[str]],
                                                           chaos_report: ChaosReport) -> None:
    served, web_proc = web
    started = time.monotonic()
    acks, sent = burst(served, 500)
    finals = wait_done(served, sent, timeout=120)
    took = time.monotonic() - started
    assert max(acks) < 3.0, f"slowest ack {max(acks):.2f} s"
    jobs_done = [f for (_, ack, _), f in zip(sent, finals, strict=True) if ack.startswith("⏳") and f.startswith("✅")]
    assert all(f and not f.startswith(("⏳", "❌")) for f in finals), [f for f in finals if not f or f[0] in "⏳❌"][:5]
    assert queue_drained(served)
    acks.sort()
    print(f"\nburst: 500 commands in {took:.1f} s; ack p50 {acks[250] * 1000:.0f} ms, p99 {acks[494] * 1000:.0f} ms, "
          f"max {acks[-1] * 1000:.0f} ms; {len(jobs_done)} jobs ✅")
    chaos_report.add("load: 500-command burst, 50 users", runs=500, applied=len(finals))

    # Memory: warm up, then compare the growth of the second half with the first.
    marks: list[tuple[int, list[int]]] = []
    half = MEMORY_COMMANDS // 2
    for _ in range(2):
        _, more = burst(served, half, MEMORY_MIX)
        finals = wait_done(served, more, timeout=300)
        assert all(f and not f.startswith(("⏳", "❌")) for f in finals)
        forget_simulated_history(served)
        marks.append((rss_kb(web_proc.pid), [rss_kb(w.pid) for w in workers]))
    (web1, workers1), (web2, workers2) = marks
    print(f"memory after {half} / {2 * half} more commands: web (remedy serve) {web1} -> {web2} KB, "
          f"workers {workers1} -> {workers2} KB")
    # A leak of 1 KB a command would grow the web process by 2.5 MB over the second half of 5,000.
    assert web2 <= web1 * 1.05, f"web grew {(web2 - web1) / 1024:.1f} MiB in {half} commands"
    assert all(b <= a * 1.10 for a, b in zip(workers1, workers2, strict=True))
    chaos_report.add("load: memory across more commands", runs=2 * half, applied=2 * half)
