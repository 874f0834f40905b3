"""`escalate`, `delegate` and `schedule discussion` end to end (slash → job on the queue → ✅) with the
Slack simulator answering every Web API call after 80 ms and the Jira simulator after 150 ms, next to
the roadmap's target (< 10 s an action) and to each action's floor.

Floor = the unavoidable calls on the critical path: the calls the job cannot do without, in the
order remedy's guarantees impose — a refusal (unknown ticket, a DM Slack won't deliver) comes before
any write, an escalation's DM before its Jira writes, and the messages that report a change go out
after Jira took it — with every call that depends on none of that overlapped. A step lasts as long
as its slowest call; the floor is the sum of the steps. With 150 ms / 80 ms:

* escalate (a person named, ticket below P2 so the rule raises it, its thread exists): Jira GET issue
  ∥ conversations.open → DM chat.postMessage → Jira comment ∥ watcher ∥ priority PUT → thread reply
  ∥ status line chat.update (the line shows the raised priority) = 150+80+150+80 = 460 ms.
  Unavoidable calls: Jira 4, Slack 4. (Posting the DM to the user id, which Slack allows, would drop
  conversations.open; it stays in the floor, overlapped, as remedy names Slack's refusals from it.)
* delegate to dev-team (round-robin, channel set, thread exists): Jira GET issue ∥ chat.getPermalink
  of the thread (the notice links the thread, whose ts is known) → Jira assignee PUT ∥ 3 watcher
  POSTs → thread reply ∥ status line chat.update (new assignee) ∥ the notice in the group's channel
  = 150+150+80 = 380 ms. Unavoidable calls: Jira 5, Slack 4.
* schedule discussion with 2 people (thread exists): Jira GET issue ∥ 2 conversations.open → the
  thread line ∥ 2 DMs ∥ 3 files.getUploadURLExternal (the .ics needs the ticket's summary) → 3
  files.completeUploadExternal (each file after its message) = 150+80+80 = 310 ms; the Jira comment
  (150 ms, after the GET) runs alongside the two Slack steps. The status line does not change, so
  re-sending it is not in the floor. Unavoidable calls: Jira 2, Slack 11.

The simulator delays Web API methods only: the response_url answer (⏳ → ✅) and the bytes POSTed to
an upload URL come back at once, so neither the measured time nor the floor holds them.

Each round uses a ticket of its own (created through the Jira simulator's REST API, Medium priority,
its thread opened by an unmeasured ``work KEY``), so no repeat guard applies; one warm-up round
comes first. As in production: PostgreSQL (a database of the run's own, dropped at the end, so
nothing tests or earlier runs left counts) and Redis, one worker. Goals: < 2 s each (worst round)
and ≤ 1.3× the floor (median). ``BENCH_ROUNDS``, ``BENCH_SLACK_LATENCY`` / ``BENCH_JIRA_LATENCY`` (s),
``BENCH_DATABASE_URL``, ``REDIS_URL`` and ``BENCH_VERBOSE`` (every round's calls) change the run.
"""

from __future__ import annotations

import os
import secrets
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
from results import record  # a sibling module: benchmarks run as scripts
from sqlalchemy import text
from sqlalchemy.engine import make_url

from remedy.db.session import make_engine
from remedy.sandbox.run import JIRA_EMAIL, JIRA_TOKEN, Sandbox
from remedy.team.escalation import request_key
from remedy_cli.embedded import Runtime

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
WARMUP = 1
LATENCY = {"slack": float(os.environ.get("BENCH_SLACK_LATENCY", "0.080")),
           "jira": float(os.environ.get("BENCH_JIRA_LATENCY", "0.150"))}
ROADMAP = 10.0  # seconds an action, the roadmap's target
GOAL_SECONDS = 2.0
GOAL_RATIO = 1.3
USER = "U01ALICE"
OVERLAP = 0.010  # tolerance tracing the chain: a call sent within this of an answer counts as after it


@dataclass(frozen=True)
class Call:
    service: str  # "slack" or "jira"
    what: str

    @property
    def seconds(self) -> float:
        return LATENCY[self.service]


def _s(what: str, n: int = 1) -> tuple[Call, ...]:
    return (Call("slack", what),) * n


def _j(what: str, n: int = 1) -> tuple[Call, ...]:
    return (Call("jira", what),) * n


Step = tuple[Call, ...]  # calls side by side: the step lasts as long as its slowest


@dataclass(frozen=True)
class Action:
    name: str
    command: str  # {key}: the round's ticket
    expect: str  # in the ✅ answer: the full path ran
    path: tuple[Step, ...]  # the unavoidable calls on the critical path, in order
    alongside: tuple[tuple[int, Call], ...] = ()  # (steps that must be done first, call) off the path

    def floor(self) -> float:
        ends = [sum(max(c.seconds for c in step) for step in self.path)]
        ends += [sum(max(c.seconds for c in step) for step in self.path[:after]) + call.seconds
                 for after, call in self.alongside]
        return max(ends)

    def floor_calls(self) -> Counter[str]:
        calls = [c for step in self.path for c in step] + [c for _, c in self.alongside]
        return Counter(c.service for c in calls)


ACTIONS = (
    Action("escalate", "escalate {key} sarah because pilot stuck", "priority raised to *High*", (
        _j("GET issue") + _s("conversations.open"),
        _s("chat.postMessage DM"),
        _j("POST comment") + _j("POST watchers") + _j("PUT issue"),
        _s("chat.postMessage thread") + _s("chat.update"))),
    Action("delegate", "delegate {key} to dev-team", "watching in Jira", (
        _j("GET issue") + _s("chat.getPermalink"),
        _j("PUT assignee") + _j("POST watchers", 3),
        _s("chat.postMessage thread") + _s("chat.update") + _s("chat.postMessage"))),
    Action("schedule", "schedule discussion {key} tomorrow 15:00 with sarah john.smith", "📅 Discussion on", (
        _j("GET issue") + _s("conversations.open", 2),
        _s("chat.postMessage thread") + _s("chat.postMessage DM", 2) + _s("files.getUploadURLExternal", 3),
        _s("files.completeUploadExternal", 3)), alongside=((1, Call("jira", "POST comment")),)),
)


# -- one run of an action --------------------------------------------------------------------------
@dataclass(frozen=True)
class Event:
    start: float  # seconds since the slash command
    end: float
    call: Call


@dataclass
class Round:
    seconds: float
    events: list[Event] = field(default_factory=list)

    def calls(self) -> Counter[str]:
        return Counter(e.call.service for e in self.events)


def _slack_label(method: str, params: dict[str, object]) -> str:
    if method != "chat.postMessage":
        return method
    where = " thread" if params.get("thread_ts") else " DM" if str(params.get("channel", "")).startswith("D") else ""
    return method + where


def _jira_label(method: str, path: str) -> str:
    """``GET issue``, ``POST comment``, ``PUT assignee``… (the ticket key left out)."""
    parts = path.split("/rest/api/3/", 1)[-1].split("/")
    return f"{method} {parts[-1] if len(parts) > 2 else parts[0]}"


def timeline(rt: Runtime, slack_from: int, jira_from: int, wall0: float, mono0: float) -> list[Event]:
    """The calls the simulators got since the marks. Slack logs a call when it arrives, Jira when it
    answers: each interval is that moment and the set latency."""
    events = [Event(c.at - wall0, c.at - wall0 + LATENCY["slack"], Call("slack", _slack_label(c.method, c.params)))
              for c in rt.sandbox.slack_state.calls()[slack_from:]]
    events += [Event(r.at - mono0 - LATENCY["jira"], r.at - mono0, Call("jira", _jira_label(r.method, r.path)))
               for r in rt.sandbox.jira_state.requests[jira_from:]]
    return sorted(events, key=lambda e: e.start)


def run_action(rt: Runtime, action: Action, key: str) -> Round:
    slack_from, jira_from = len(rt.sandbox.slack_state.calls()), len(rt.sandbox.jira_state.requests)
    wall0, mono0, started = time.time(), time.monotonic(), time.perf_counter()
    sent = rt.slash(action.command.format(key=key), user=USER)
    rt.drain()
    took = time.perf_counter() - started
    view = rt.sandbox.slack_state.response_view(sent.response_url)
    answer = view.text if view else sent.ack_text
    if not answer.startswith("✅") or action.expect not in answer:
        raise RuntimeError(f"{action.name} {key} did not go through: {answer[:300]}")
    return Round(took, timeline(rt, slack_from, jira_from, wall0, mono0))


# -- what remedy did, in sequence ---------------------------------------------------------------------
def critical_chain(events: list[Event]) -> list[list[Event]]:
    """The longest chain of calls, each sent after the one before it had answered (traced back from
    the last answer); every other call is shown beside the link of the chain it was sent nearest to."""
    links: list[Event] = []
    current = max(events, key=lambda e: e.end, default=None)
    while current is not None:
        links.insert(0, current)
        before = [e for e in events if e.end <= current.start + OVERLAP]
        current = max(before, key=lambda e: e.end, default=None)
    chain: list[list[Event]] = [[link] for link in links]
    for e in events:
        if all(e is not link for link in links):
            chain[min(range(len(links)), key=lambda i: abs(links[i].start - e.start))].append(e)
    return chain


def in_flight(events: list[Event]) -> float:
    """How long at least one call was waiting on a simulator."""
    total, end = 0.0, float("-inf")
    for e in sorted(events, key=lambda e: e.start):
        total += max(0.0, e.end - max(e.start, end))
        end = max(end, e.end)
    return total


def describe(calls: list[Call]) -> str:
    counts = Counter(f"{c.service} {c.what}" for c in calls)
    return " ∥ ".join(f"{n}× {what}" if n > 1 else what for what, n in counts.items())


# -- the run ---------------------------------------------------------------------------------------------
@contextmanager
def own_database(url: str) -> Iterator[str]:
    """A PostgreSQL database of the run's own on the same server, dropped at the end (any other URL
    is used as given)."""
    if not url.startswith("postgresql"):
        yield url
        return
    name = f"remedy_bench_{secrets.token_hex(4)}"
    admin = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def set_latency(sandbox: Sandbox, slack: float, jira: float) -> None:
    sandbox.slack_state.set_latency(None, slack)
    sandbox.jira_state.set_latency(jira)


def new_ticket(rt: Runtime, n: int) -> str:
    """A Medium ticket (the escalation rule raises it to P2) whose home thread exists, as in real use."""
    r = httpx.post(f"{rt.sandbox.jira.url}/rest/api/3/issue", auth=(JIRA_EMAIL, JIRA_TOKEN), timeout=10, json={
        "fields": {"project": {"key": "CPE"}, "summary": f"Zoom 5.17 security update ({n})",
                   "issuetype": {"name": "Task"}, "priority": {"name": "Medium"}}})
    r.raise_for_status()
    key = str(r.json()["key"])
    # The repeat guards live in Redis for a minute: an earlier run's, on the same key, must not count.
    for action in ("escalate", "delegate"):
        prefix = request_key(action, key, "", USER).rsplit(":", 1)[0]
        stale = list(rt.services.redis.scan_iter(match=f"{prefix}:*"))
        if stale:
            rt.services.redis.delete(*stale)
    sent = rt.slash(f"work {key}", user=USER)
    rt.drain()
    view = rt.sandbox.slack_state.response_view(sent.response_url)
    if view is None or not view.text.startswith("✅"):
        raise RuntimeError(f"work {key}: {view.text if view else 'no answer'}")
    return key


def measure(sandbox: Sandbox, database_url: str) -> dict[str, list[Round]]:
    rt = Runtime.start(sandbox, database_url, redis_url=REDIS_URL, REMEDY_QUEUE=f"bench-{secrets.token_hex(4)}")
    results: dict[str, list[Round]] = {a.name: [] for a in ACTIONS}
    try:
        keys = [new_ticket(rt, n) for n in range(WARMUP + ROUNDS)]
        set_latency(sandbox, LATENCY["slack"], LATENCY["jira"])
        for n, key in enumerate(keys):
            for action in ACTIONS:
                done = run_action(rt, action, key)
                if os.environ.get("BENCH_VERBOSE"):
                    print(f"{action.name} {key}: {done.seconds * 1000:.0f} ms  "
                          + " → ".join(describe([e.call for e in w]) for w in critical_chain(done.events)))
                if n >= WARMUP:
                    results[action.name].append(done)
    finally:
        set_latency(sandbox, 0.0, 0.0)
        rt.services.queue.rq.empty()  # type: ignore[no-untyped-call]  # RQ is unannotated
        rt.stop()
    return results


# -- the report --------------------------------------------------------------------------------------------
def _calls(made: Counter[str], floor: Counter[str]) -> str:
    return "  ".join(f"{s.capitalize()} {made[s]:>2} ({floor[s]:>2})" for s in ("slack", "jira"))


def table(results: dict[str, list[Round]]) -> list[tuple[str, bool]]:
    print(f"\nteam actions end to end (slash → job → ✅), Slack {LATENCY['slack'] * 1000:.0f} ms and Jira "
          f"{LATENCY['jira'] * 1000:.0f} ms a call, {ROUNDS} rounds after {WARMUP} warm-up")
    print(f"  {'':9} {'median':>8} {'worst':>8} {'floor':>8} {'ratio':>6}   calls made (floor)")
    goals: list[tuple[str, bool]] = []
    for action in ACTIONS:
        runs = results[action.name]
        med, worst, floor = statistics.median(r.seconds for r in runs), max(r.seconds for r in runs), action.floor()
        made = max((r.calls() for r in runs), key=lambda c: sum(c.values()))
        print(f"  {action.name:9} {med:7.3f}s {worst:7.3f}s {floor:7.3f}s {med / floor:5.2f}×   "
              f"{_calls(made, action.floor_calls())}")
        goals += [(f"{action.name} < {ROADMAP:.0f} s, the roadmap's target (worst {worst:.3f} s)", worst < ROADMAP),
                  (f"{action.name} < {GOAL_SECONDS:.0f} s (worst {worst:.3f} s)", worst < GOAL_SECONDS),
                  (f"{action.name} ≤ {GOAL_RATIO:.2f}× the floor (median {med / floor:.2f}×)",
                   med <= GOAL_RATIO * floor)]
        record(f"{action.name}, worst round", worst, None, f"< {GOAL_SECONDS:.0f} s (roadmap < {ROADMAP:.0f} s)",
               worst < GOAL_SECONDS)
        record(f"{action.name}, median vs its floor", med, floor, f"≤ {GOAL_RATIO:.2f}×", med <= GOAL_RATIO * floor)
    return goals


def where_time_goes(results: dict[str, list[Round]]) -> None:
    print("\nwhere the time goes (the median round; → one after the other, ∥ side by side)")
    for action in ACTIONS:
        runs = sorted(results[action.name], key=lambda r: r.seconds)
        mid = runs[len(runs) // 2]
        chain = critical_chain(mid.events)
        busy = in_flight(mid.events)
        print(f"  {action.name}: {mid.seconds:.3f} s = calls in flight {busy:.3f} s + remedy's own work "
              f"{mid.seconds - busy:.3f} s; longest chain {len(chain)} round trips, floor {len(action.path)}")
        print("    remedy: " + " → ".join(describe([e.call for e in step]) for step in chain))
        print(f"    floor:  {' → '.join(describe(list(step)) for step in action.path)}"
              + "".join(f"; alongside: {c.service} {c.what}" for _, c in action.alongside))


def report(results: dict[str, list[Round]]) -> bool:
    goals = table(results)
    where_time_goes(results)
    print()
    for name, ok in goals:
        print(f"  {'PASS' if ok else 'FAIL'}  {name}")
    ok = all(ok for _, ok in goals)
    print("RESULT:", "goal met" if ok else "goal MISSED")
    return ok


def main() -> int:
    sandbox = Sandbox.start()
    try:
        with own_database(DATABASE_URL) as url:
            results = measure(sandbox, url)
    finally:
        sandbox.stop()
    return 0 if report(results) else 1


if __name__ == "__main__":
    sys.exit(main())
