"""One channel's morning digest over 50 active remediations, the simulators answering as the issue sets
them (Jira 150 ms a request, Jamf 100 ms a request/page, the model 2 s a call, Slack 80 ms a call), next
to a naive sequential build, in the same run.

(a) remedy, as shipped: a cron tick at the channel's 09:00 → the scan job → the digest job, until the
digest message, every ticket's threaded daily update and the charts are in Slack. Cold: first digest of
the day, nothing cached, every ticket worded by the model (50 calls). Warm: a second channel's digest a
moment later (the process, connections and the fleet's state warm; every ticket unchanged since the
first digest, so its update is the one-line "no change" and the model is not asked).
(b) naive: the same tickets one after another, each read from Jira on its own, its own Jamf inventory
pass, its facts by the same code, one model call waited for, its update posted; no chart.

Goals: cold < 5 s (the roadmap's "daily update generation < 5 s", for the whole digest) with the model's
wording, and ≥ 5× faster than the naive build. Setup (tickets created through the Jira simulator's REST
API, rollouts recorded, yesterday's measurement kept) is not timed. ``BENCH_TICKETS`` and
``BENCH_LLM_LATENCY`` shrink the run; ``BENCH_DATABASE_URL`` picks the database (default: SQLite in a
temporary directory, as the embedded default), Redis is in-process (fakeredis).
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bench_tickets import ticket_keys  # a sibling module: benchmarks run as scripts
from results import record  # a sibling module: benchmarks run as scripts

from remedy.jamf.models import ComplianceCount
from remedy.llm.client import Llm
from remedy.queue import Origin
from remedy.remediation import measure, plan, store
from remedy.remediation.facts import facts_from_issue
from remedy.remediation.store import PolicyIds
from remedy.sandbox.run import Sandbox
from remedy.sandbox.slack_records import Channel
from remedy.updates import wording
from remedy.updates.history import own_and_previous, stored_updates
from remedy_cli.embedded import Runtime
from workers.context import JobContext
from workers.cron import SCHEDULE, tick
from workers.updates import decide_facts

TICKETS = int(os.environ.get("BENCH_TICKETS", "50"))
LLM_LATENCY = float(os.environ.get("BENCH_LLM_LATENCY", "2.0"))
JIRA_LATENCY, JAMF_LATENCY, SLACK_LATENCY = 0.15, 0.10, 0.08
GOAL_COLD = 5.0
GOAL_SPEEDUP = 5.0
DIGESTS = next(entry for entry in SCHEDULE if entry.name == "digests")
FIRST, SECOND, NAIVE = "C0DIGESTA", "C0DIGESTB", "C0NAIVE"


@dataclass
class Timed:
    seconds: float
    model_calls: int
    messages: int


def seed(rt: Runtime, keys: list[str]) -> None:
    """Every ticket mid-rollout: a policy, the ring plan (pilot started a day ago for every other one),
    and yesterday's measurement, so trends and charts have a point to start from."""
    svc, now = rt.services, rt.sandbox.now()
    groups = svc.jamf.computer_groups()
    chrome = facts_from_issue(svc.jira.get_issue("CPE-3222"))
    rings = plan.ring_plan(svc.workflow, chrome, groups)  # the same groups for every app: a shared pilot fleet
    for i, key in enumerate(keys):
        facts = facts_from_issue(svc.jira.get_issue(key))
        store.save_policy(svc.db, facts, PolicyIds(1, f"{facts.app_name}.pkg", 1000 + i))
        store.plan_rings(svc.db, key, rings)
        if i % 2 == 0:
            store.start_ring(svc.db, key, rings[0].name, now - timedelta(hours=30))
        yesterday = ComplianceCount(total_with_app=800, compliant=300 + i, behind=[], missing_app=100)
        measure.record(svc.db, facts, yesterday, None, now - timedelta(hours=24))


def remedy_digest(rt: Runtime, channel: str) -> Timed:
    calls, messages = len(rt.sandbox.ollama_state.calls), len(rt.sandbox.slack_state.all_messages(channel))
    started = time.perf_counter()
    tick(rt.services.queue, rt.sandbox.now(), [DIGESTS])
    rt.drain(timeout=300)
    took = time.perf_counter() - started
    return Timed(took, len(rt.sandbox.ollama_state.calls) - calls,
                 len(rt.sandbox.slack_state.all_messages(channel)) - messages)


def naive_digest(rt: Runtime, keys: list[str], model: str) -> Timed:
    """One ticket after another with the same pieces, nothing shared, nothing side by side."""
    svc = rt.services
    llm = Llm(svc.settings.OLLAMA_HOST, model, svc.settings.OLLAMA_TIMEOUT, svc.redis, cooldown=0)
    ctx = JobContext(svc, Origin(user_id="cron", channel_id=NAIVE, source="cron"), f"naive-{secrets.token_hex(3)}")
    calls = len(rt.sandbox.ollama_state.calls)
    started = time.perf_counter()
    svc.poster.post_once(NAIVE, "Daily digest", None, f"{ctx.job_id}:head")
    for key in keys:
        issue = svc.jira.get_issue(key)
        known = store.load(svc.db, key)
        _, previous = own_and_previous(stored_updates(svc.db, key), ctx.job_id)
        facts = decide_facts(ctx, issue, known, previous, True)
        words = wording.word(llm, {k: v for k, v in facts.items() if not k.startswith("unchanged")}, key, key)
        svc.poster.post_once(NAIVE, words.slack, None, f"{ctx.job_id}:{key}")
    took = time.perf_counter() - started
    return Timed(took, len(rt.sandbox.ollama_state.calls) - calls, len(keys) + 1)


def main() -> int:
    sandbox = Sandbox.start(llm_latency=LLM_LATENCY)
    model = f"bench-digest-{secrets.token_hex(3)}"
    naive_model = f"{model}-naive"
    sandbox.ollama_state.models += [model, naive_model]
    tmp = tempfile.TemporaryDirectory()
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{Path(tmp.name) / 'digest.db'}"
    rt = Runtime.start(sandbox, url, OLLAMA_MODEL=model)
    try:
        keys = ticket_keys(sandbox, TICKETS)
        seed(rt, keys)
        for channel in (FIRST, SECOND, NAIVE):
            sandbox.slack_state.channels[channel] = Channel(channel, channel.lower())
        nine = sandbox.now().replace(hour=8, minute=0, second=0, microsecond=0) + timedelta(days=1)
        sandbox.jamf_state.advance((nine - timedelta(hours=2) - sandbox.now()).total_seconds())
        for channel, at in ((FIRST, "09:00"), (SECOND, "09:05")):  # 09:00 Berlin is 08:00 UTC in winter
            sent = rt.slash(f"digest here {at} Europe/Berlin", channel=channel)
            rt.drain()
            assert sandbox.slack_state.response_view(sent.response_url) is not None, sent.ack_text
        sandbox.jira_state.latency, sandbox.jamf_state.latency = JIRA_LATENCY, JAMF_LATENCY
        sandbox.slack_state.set_latency(None, SLACK_LATENCY)

        sandbox.jamf_state.advance((nine - sandbox.now()).total_seconds())
        cold = remedy_digest(rt, FIRST)
        sandbox.jamf_state.advance(5 * 60)  # the next cron slot, and the second channel's time
        warm = remedy_digest(rt, SECOND)
        naive = naive_digest(rt, keys, naive_model)
        return report(cold, warm, naive)
    finally:
        rt.stop()
        sandbox.stop()
        tmp.cleanup()


def report(cold: Timed, warm: Timed, naive: Timed) -> int:
    ratio = naive.seconds / cold.seconds if cold.seconds else float("inf")
    print(f"{TICKETS} active remediations; Jira {JIRA_LATENCY * 1000:.0f} ms, Jamf {JAMF_LATENCY * 1000:.0f} ms/page, "
          f"model {LLM_LATENCY:.1f} s, Slack {SLACK_LATENCY * 1000:.0f} ms")
    print(f"{'metric':<44}{'remedy':>10}{'naive':>10}{'ratio':>8}  goal")
    goal = f"< {GOAL_COLD:.0f} s, ≥ {GOAL_SPEEDUP:.0f}×"
    rows = [
        ("digest end to end, cold (s)", cold.seconds, naive.seconds, ratio, goal),
        ("digest end to end, warm (s)", warm.seconds, naive.seconds, naive.seconds / warm.seconds, "(shown)"),
        ("model calls, cold / naive", cold.model_calls, naive.model_calls, None, "one per ticket"),
        ("model calls, warm", warm.model_calls, None, None, "0 (nothing changed)"),
        ("Slack messages, cold", cold.messages, naive.messages, None, "(shown)"),
    ]
    for name, ours, theirs, r, goal in rows:
        shown = "" if theirs is None else f"{theirs:.2f}" if isinstance(theirs, float) else str(theirs)
        mine = f"{ours:.2f}" if isinstance(ours, float) else str(ours)
        print(f"{name:<44}{mine:>10}{shown:>10}{'' if r is None else f'{r:.1f}×':>8}  {goal}")
    failed = []
    if cold.seconds >= GOAL_COLD:
        failed.append(f"cold digest took {cold.seconds:.2f} s (goal < {GOAL_COLD:.0f} s)")
    if ratio < GOAL_SPEEDUP:
        failed.append(f"only {ratio:.1f}× faster than the naive build (goal ≥ {GOAL_SPEEDUP:.0f}×)")
    if cold.model_calls < TICKETS:
        failed.append(f"the cold digest made {cold.model_calls} model calls for {TICKETS} tickets")
    for line in failed:
        print("GOAL MISSED:", line)
    record(f"digest of {TICKETS} remediations, cold", cold.seconds, None, f"< {GOAL_COLD:.0f} s (roadmap)",
           cold.seconds < GOAL_COLD)
    record(f"digest of {TICKETS} remediations, cold vs naive build", cold.seconds, naive.seconds,
           f"≤ {1 / GOAL_SPEEDUP:.2f}× (≥ {GOAL_SPEEDUP:.0f}× faster)", ratio >= GOAL_SPEEDUP)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
