"""`batch comment` on 200 tickets with the Jira simulator enforcing a Jira Cloud-like rate limit (at
most ``BENCH_JIRA_RATE`` writes in any second, beyond that 429 with Retry-After) and answering every
call after ``BENCH_JIRA_LATENCY`` seconds, next to the rate-limit floor and to a naive sequential loop
(one JiraClient.add_comment after another, the client's own 429 handling) in the same run.

Floor = N writes / the allowed rate: no client can post N comments faster without earning 429s.
remedy is timed from the Confirm press to the card's final "✅ 200 posted" (the search that re-reads
the tickets, the paced writes, the once-only bookkeeping, progress edits and audit included). Goal:
≤ 1.2× the floor. ``BENCH_BULK_N``, ``BENCH_JIRA_RATE``, ``BENCH_JIRA_LATENCY`` change the run.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from typing import Any

from results import record  # a sibling module: benchmarks run as scripts

from remedy.jira.client import JiraClient
from remedy.sandbox import seed
from remedy.sandbox.jira_state import JiraState
from remedy.sandbox.run import JIRA_EMAIL, JIRA_TOKEN, Sandbox
from remedy_cli.embedded import Runtime

N = int(os.environ.get("BENCH_BULK_N", "200"))
RATE = float(os.environ.get("BENCH_JIRA_RATE", "20"))
LATENCY = float(os.environ.get("BENCH_JIRA_LATENCY", "0.1"))
GOAL = 1.2
CHANNEL = "C0CPETEAM"
SARAH = "U02SARAH"


def _adf(text: str) -> dict[str, Any]:
    paragraph = {"type": "paragraph", "content": [{"type": "text", "text": text}]}
    return {"type": "doc", "version": 1, "content": [paragraph]}


def epic_with_stories(jira: JiraState, n: int, name: str) -> tuple[str, list[str]]:
    team = seed.team()
    with jira.lock:
        epic = jira.new_issue(summary=name, issue_type="Epic", priority="High", reporter=team["sarah"].account_id,
                              assignee=None).key
        keys = []
        for i in range(n):
            record = jira.new_issue(summary=f"App {i} update", issue_type="Story", priority="Medium",
                                    reporter=team["sarah"].account_id, assignee=team["alice"].account_id,
                                    parent_key=epic, description=_adf("Bundle ID: com.example.app"))
            record.status = "Rollout"
            keys.append(record.key)
    return epic, keys


def refused(jira: JiraState, since: int) -> int:
    return sum(1 for r in jira.requests[since:] if r.status == 429)


def remedy_run(sandbox: Sandbox, epic: str) -> tuple[float, int, str]:
    with tempfile.TemporaryDirectory() as tmp:
        rt = Runtime.start(sandbox, f"sqlite:///{tmp}/bench.db", REMEDY_BULK_JIRA_RATE=RATE)
        try:
            rt.slash(f'batch comment "Weekly security update: {{phase}}" on epic {epic}', user=SARAH)
            rt.drain()
            card = [m for m in sandbox.slack_state.messages(CHANNEL) if m.text.startswith("📦")][-1]
            confirm = next(e for b in card.blocks if b["type"] == "actions" for e in b["elements"]
                           if e["text"]["text"] == "Confirm")
            since = len(sandbox.jira_state.requests)
            started = time.perf_counter()
            rt.press(confirm, user=SARAH, message_ts=card.ts)
            rt.drain(timeout=600)
            elapsed = time.perf_counter() - started
            final = sandbox.slack_state.message(CHANNEL, card.ts).text
            return elapsed, refused(sandbox.jira_state, since), final
        finally:
            rt.stop()


def naive_run(sandbox: Sandbox, keys: list[str]) -> tuple[float, int]:
    since = len(sandbox.jira_state.requests)
    started = time.perf_counter()
    with JiraClient(sandbox.jira.url, JIRA_EMAIL, JIRA_TOKEN) as client:
        for key in keys:
            client.add_comment(key, "Weekly security update")
    return time.perf_counter() - started, refused(sandbox.jira_state, since)


def main() -> int:
    sandbox = Sandbox.start()
    try:
        ours, _ = epic_with_stories(sandbox.jira_state, N, "Bulk benchmark (remedy)")
        _, theirs = epic_with_stories(sandbox.jira_state, N, "Bulk benchmark (naive loop)")
        sandbox.jira_state.set_latency(LATENCY)
        sandbox.jira_state.limit_rate(int(RATE), per_seconds=1.0)
        elapsed, ours_429, final = remedy_run(sandbox, ours)
        naive, naive_429 = naive_run(sandbox, theirs)
    finally:
        sandbox.stop()
    floor = N / RATE
    ok = elapsed <= GOAL * floor and f"{N} posted" in final
    record(f"batch comment on {N} tickets vs the rate-limit floor", elapsed, floor, f"≤ {GOAL:.1f}×", ok)
    print(f"\nbatch comment on {N} tickets, Jira: {RATE:g} writes/s allowed (429 + Retry-After beyond), "
          f"{LATENCY * 1000:.0f} ms a call")
    print(f"  {'metric':34} {'remedy':>9} {'baseline':>9} {'ratio':>7} {'goal':>7}")
    print(f"  {'elapsed vs rate-limit floor':34} {elapsed:8.2f}s {floor:8.2f}s {elapsed / floor:6.2f}× {GOAL:6.1f}×")
    print(f"  {'elapsed vs naive sequential loop':34} {elapsed:8.2f}s {naive:8.2f}s {elapsed / naive:6.2f}× {'—':>7}")
    print(f"  {'429s received':34} {ours_429:9d} {naive_429:9d}")
    print(f"  card: {final}")
    print("RESULT:", "goal met" if ok else "goal MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
