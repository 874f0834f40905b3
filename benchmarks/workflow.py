"""The roadmap's whole CPE-3222 workflow end to end — `remedy demo --scenario cpe-3222`'s lines
(remedy_cli.demo.WORKFLOW), from `work` to the evidence pack — with every simulator answering after a
realistic delay: the model 2 s a call (the roadmap's llama3.2:3b), Jira 150 ms, Jamf 100 ms, Slack 80 ms.

Each step is timed from the slash command (or button press) until its jobs are done and the answer is
in Slack; the total is compared with the roadmap's measured 21.6 s and its < 30 s target, and with this
benchmark's goal, ≤ 10 s (half the roadmap's time, doing more: real writes to Jira, Jamf and Slack,
not drafts). Not counted: the simulated day passing (`:wait 26h` — in a real rollout the Macs take that
long to check in, which no tool shortens) and the subtasks the engineers close by doing their work
(`:subtasks done`, a direct edit of the Jira simulator's state); both are shown, at their real cost.

As in production: PostgreSQL (a database of the run's own, dropped at the end) and Redis, one worker.
A warm-up run of the whole scenario at zero latency comes first, on a sandbox and database of its own
(code paths loaded, connections opened, as a bot that has served before), under a model name of its
own, so no model answer it cached in Redis applies to the measured run. ``BENCH_LLM_LATENCY``,
``BENCH_JIRA_LATENCY``, ``BENCH_JAMF_LATENCY``, ``BENCH_SLACK_LATENCY`` (s), ``BENCH_DATABASE_URL`` and
``REDIS_URL`` change the run.
"""

from __future__ import annotations

import os
import secrets
import sys
import time
from collections import Counter
from dataclasses import dataclass

from results import record  # a sibling module: benchmarks run as scripts
from team_actions import Call, Event, critical_chain, describe, in_flight, own_database  # a sibling module

from remedy.llm.client import CACHE_KEY, DOWN_KEY
from remedy.sandbox.run import Sandbox
from remedy_cli.demo import WORKFLOW, perform
from remedy_cli.embedded import Runtime

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
# As the other benchmarks: db 0. The tests flush db 15 (tests/conftest.py), which would empty the queue mid-run.
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
LATENCY = {"llm": float(os.environ.get("BENCH_LLM_LATENCY", "2.0")),
           "jira": float(os.environ.get("BENCH_JIRA_LATENCY", "0.150")),
           "jamf": float(os.environ.get("BENCH_JAMF_LATENCY", "0.100")),
           "slack": float(os.environ.get("BENCH_SLACK_LATENCY", "0.080"))}
SERVICES = ("llm", "jira", "jamf", "slack")
ROADMAP_MEASURED, ROADMAP_TARGET, GOAL = 21.6, 30.0, 10.0  # seconds for the whole workflow
NOT_COUNTED = (":wait", ":subtasks")  # simulated time and the engineers' own work: see the docstring
KEY = "CPE-3222"


@dataclass(frozen=True)
class Step:
    user: str
    line: str
    seconds: float
    calls: Counter[str]
    answer: str
    events: tuple[Event, ...] = ()  # every call to a simulator, in seconds since the step began

    @property
    def counted(self) -> bool:
        return not self.line.startswith(NOT_COUNTED)


def _calls(sandbox: Sandbox) -> Counter[str]:
    return Counter({"llm": len(sandbox.ollama_state.calls), "jira": len(sandbox.jira_state.requests),
                    "jamf": len(sandbox.jamf_state.requests), "slack": len(sandbox.slack_state.calls())})


def _events(sandbox: Sandbox, since: Counter[str], wall0: float, mono0: float) -> tuple[Event, ...]:
    """The calls each simulator got since ``since``. Slack and the model log a call when it arrives, Jira
    and Jamf when they answer: each interval is that moment and the set latency."""
    events = [Event(c.at - wall0, c.at - wall0 + LATENCY["slack"], Call("slack", c.method))
              for c in sandbox.slack_state.calls()[since["slack"]:]]
    events += [Event(c.at - mono0, c.at - mono0 + LATENCY["llm"], Call("llm", "chat"))
               for c in sandbox.ollama_state.calls[since["llm"]:]]
    for service, requests in (("jira", sandbox.jira_state.requests), ("jamf", sandbox.jamf_state.requests)):
        events += [Event(r.at - mono0 - LATENCY[service], r.at - mono0, Call(service, f"{r.method} {r.path}"))
                   for r in requests[since[service]:]]
    return tuple(sorted(events, key=lambda e: e.start))


def _step(rt: Runtime, user: str, line: str) -> Step:
    before = _calls(rt.sandbox)
    wall0, mono0, started = time.time(), time.monotonic(), time.perf_counter()
    sent = perform(rt, user, line)
    took = time.perf_counter() - started
    view = rt.sandbox.slack_state.response_view(sent.response_url) if sent and sent.response_url else None
    answer = view.text if view else sent.ack_text if sent else ""
    return Step(user, line, took, _calls(rt.sandbox) - before, answer, _events(rt.sandbox, before, wall0, mono0))


def play(rt: Runtime) -> list[Step]:
    steps = [_step(rt, user, line) for user, line, _ in WORKFLOW]
    _check(rt, steps)
    return steps


def _check(rt: Runtime, steps: list[Step]) -> None:
    """The run only counts if the workflow went through: every command answered, the ticket in Rollout
    with Phase 1 in scope, the evidence pack on the ticket."""
    silent = [s.line for s in steps if s.line.startswith("/remedy") and not s.answer]
    attached = [a.filename for a in rt.sandbox.jira_state.attachments_of(KEY)]
    if silent or rt.sandbox.jira_state.status_of(KEY) != "Rollout" \
            or not any(name.startswith(f"{KEY}-evidence-") for name in attached) \
            or not steps[-1].answer.startswith("✅"):
        raise RuntimeError(f"the workflow did not go through: unanswered {silent}, "
                           f"status {rt.sandbox.jira_state.status_of(KEY)}, last answer {steps[-1].answer[:200]!r}")


def set_latency(sandbox: Sandbox, on: bool) -> None:
    sandbox.ollama_state.latency = LATENCY["llm"] if on else 0.0
    sandbox.jira_state.set_latency(LATENCY["jira"] if on else 0.0)
    sandbox.jamf_state.set_latency(LATENCY["jamf"] if on else 0.0)
    sandbox.slack_state.set_latency(None, LATENCY["slack"] if on else 0.0)


def run_once(measured: bool) -> list[Step]:
    """The whole scenario on a fresh sandbox and a database of its own."""
    sandbox = Sandbox.start()
    model = f"llama3.2:bench-{secrets.token_hex(4)}"
    sandbox.ollama_state.models.append(model)
    try:
        with own_database(DATABASE_URL) as url:
            rt = Runtime.start(sandbox, url, redis_url=REDIS_URL, REMEDY_QUEUE=f"bench-{secrets.token_hex(4)}",
                               OLLAMA_MODEL=model)
            try:
                rt.services.redis.delete(DOWN_KEY)  # a cool-down left by an earlier run would skip the model
                _drop_repeat_guards(rt)
                set_latency(sandbox, measured)
                return play(rt)
            finally:
                set_latency(sandbox, False)
                _drop_cached_answers(rt)
                _drop_repeat_guards(rt)
                rt.services.queue.rq.empty()  # type: ignore[no-untyped-call]  # RQ is unannotated
                rt.stop()
    finally:
        sandbox.stop()


def _drop_repeat_guards(rt: Runtime) -> None:
    """The escalation's repeat guard lives in Redis for a while: the warm-up's must not turn the measured
    escalation into "already escalated"."""
    stale = list(rt.services.redis.scan_iter(match=f"remedy:escalate:{KEY}:*"))
    if stale:
        rt.services.redis.delete(*stale)


def _drop_cached_answers(rt: Runtime) -> None:
    llm = rt.services.llm
    keys = list(llm.redis.scan_iter(match=CACHE_KEY.format(model=llm.model, use="*", version="*", facts="*")))
    if keys:
        llm.redis.delete(*keys)


# -- the report --------------------------------------------------------------------------------------------
def _serial(calls: Counter[str]) -> float:
    """Every call one after the other, as a step that overlapped nothing would take."""
    return sum(calls[s] * LATENCY[s] for s in SERVICES)


def table(steps: list[Step]) -> None:
    print(f"\nthe CPE-3222 workflow end to end: model {LATENCY['llm']:.1f} s a call, Jira "
          f"{LATENCY['jira'] * 1000:.0f} ms, Jamf {LATENCY['jamf'] * 1000:.0f} ms, Slack "
          f"{LATENCY['slack'] * 1000:.0f} ms; PostgreSQL + Redis")
    print("  (waiting: some call in flight; own: remedy's own work; trips: the longest chain of calls each "
          "sent after the one before answered; serial: every call one after the other)")
    print(f"  {'step':50} {'time':>7} {'waiting':>7} {'own':>6}  {'LLM':>3} {'Jira':>4} {'Jamf':>4} {'Slack':>5} "
          f"{'trips':>5} {'serial':>7}")
    for n, step in enumerate(steps, start=1):
        who = "" if step.user == "alice" else f" ({step.user})"
        name = (step.line.removeprefix("/remedy ") + who)[:47]
        busy = in_flight(list(step.events))
        mark = "" if step.counted else "  not counted"
        print(f"  {n:2} {name:47} {step.seconds:6.3f}s {busy:6.3f}s {step.seconds - busy:5.3f}s  "
              f"{step.calls['llm']:3} {step.calls['jira']:4} {step.calls['jamf']:4} {step.calls['slack']:5} "
              f"{len(critical_chain(list(step.events))):5} {_serial(step.calls):6.2f}s{mark}")
        if os.environ.get("BENCH_VERBOSE") and step.events:
            chain = critical_chain(list(step.events))
            print("       " + " → ".join(describe([e.call for e in link]) for link in chain))


def _floor(step: Step) -> float:
    """The least a step can take at these latencies, however well remedy overlapped its calls: its model
    calls, one Jira round trip (the ticket read fresh, or the one write that stands for it) and one Slack
    answer, one after the other — the model words what Jira said, the answer carries what was done. No
    Jamf call and no second Jira write is counted, so the real floor is higher."""
    return (step.calls["llm"] * LATENCY["llm"] + (step.calls["jira"] > 0) * LATENCY["jira"]
            + (step.calls["slack"] > 0) * LATENCY["slack"])


def summary(steps: list[Step]) -> bool:
    counted = [s for s in steps if s.counted]
    total = sum(s.seconds for s in counted)
    calls = sum((s.calls for s in counted), Counter[str]())
    busy = sum(in_flight(list(s.events)) for s in counted)
    trips = sum(len(critical_chain(list(s.events))) for s in counted)
    model = [s for s in counted if s.calls["llm"]]
    moves = [s for s in counted if s.calls["jira"] >= 5 and not s.calls["llm"]]  # steps that walk the ticket
    rest = [s for s in counted if s not in model and s not in moves]
    print(f"\n  total {total:.2f} s over {len(counted)} steps (roadmap: measured {ROADMAP_MEASURED} s, "
          f"target < {ROADMAP_TARGET:.0f} s; goal ≤ {GOAL:.0f} s)")
    print(f"  {busy:.2f} s waiting on the services, {total - busy:.2f} s remedy's own work; {trips} round trips "
          f"one after the other; calls: {calls['llm']} model, {calls['jira']} Jira, {calls['jamf']} Jamf, "
          f"{calls['slack']} Slack")
    for label, group in ((f"with a model call ({calls['llm']} × {LATENCY['llm']:.1f} s)", model),
                         ("that move the ticket between phases", moves), ("others", rest)):
        print(f"  {len(group):2} steps {label}: {sum(s.seconds for s in group):.2f} s "
              f"({sum(s.seconds for s in group) / total:.0%}) — "
              + ", ".join(f"{s.line.removeprefix('/remedy ')[:28]} {s.seconds:.2f} s" for s in group))
    floor = sum(_floor(s) for s in counted)
    print(f"  floor at these latencies: {floor:.2f} s (per step: its model calls, one Jira round trip and one Slack "
          f"answer, nothing else); above it: {total - floor:.2f} s for every other call and remedy's own work")
    goals = [(f"< {ROADMAP_TARGET:.0f} s, the roadmap's target ({total:.2f} s)", total < ROADMAP_TARGET),
             (f"< {ROADMAP_MEASURED} s, the roadmap's measured time ({total:.2f} s)", total < ROADMAP_MEASURED),
             (f"≤ {GOAL:.0f} s, this benchmark's goal ({total:.2f} s)", total <= GOAL)]
    print()
    for name, ok in goals:
        print(f"  {'PASS' if ok else 'FAIL'}  {name}")
    record("the whole CPE-3222 workflow vs the roadmap's measured time", total, ROADMAP_MEASURED,
           f"≤ {GOAL:.0f} s (roadmap target < {ROADMAP_TARGET:.0f} s)", total <= GOAL)
    ok = all(ok for _, ok in goals)
    print("RESULT:", "goal met" if ok else "goal MISSED")
    return ok


def main() -> int:
    run_once(measured=False)  # warm-up: not reported
    steps = run_once(measured=True)
    table(steps)
    if os.environ.get("BENCH_VERBOSE"):
        for step in steps:
            print(f"  {step.line}: {step.answer[:160]!r}")
    return 0 if summary(steps) else 1


if __name__ == "__main__":
    sys.exit(main())
