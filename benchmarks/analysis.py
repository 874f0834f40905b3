"""`/remedy analyze` with the Ollama simulator answering every model call after 2 s (the roadmap's
measurement for llama3.2:3b: 2–3 s per AI operation), next to a naive design, in the same run.

(a) remedy, as shipped, on PostgreSQL and real Redis, in a process that has already served one card of
another ticket: ``analyze CPE-3222`` cold (nothing cached for it; slash → job on the queue → card), the
same again warm (nothing changed: the wording comes back from what remedy kept, no model call; also the
job alone, ``workers.analysis.analyze`` called inline), then ``analyze`` for 20 different tickets, cold (the 3 seeded
remediation tickets and 17 created through the Jira simulator's REST API): every slash command at once,
the jobs taken off the queue by 20 in-process RQ worker threads, as ``remedy worker`` processes deployed
side by side would (judged); then the same jobs' function on a 20-thread pool, no queue (shown).
(b) naive: one ticket at a time, one model call per card field (summary, risk, next: 3 calls a ticket),
no cache, with the plain ``ollama`` client against the same simulator.

Goals: one model call per card; warm (slash → card, median of 5) < 0.1 s with no model call; 20 tickets
≤ 3× one cold card. The simulator answers concurrent calls side by side, each after the set latency; a
real Ollama runs ``OLLAMA_NUM_PARALLEL`` generations at once and queues the rest, so the 20-ticket figure
assumes that much model capacity. ``BENCH_LLM_LATENCY`` (s), ``BENCH_TICKETS`` and ``BENCH_WORKERS``
shrink the run; ``REDIS_URL`` and ``BENCH_DATABASE_URL`` pick the stores. Each of the three remedy phases
runs under a model name of its own, so no answer cached or remembered earlier applies, and its Redis answers
are deleted when it ends.
"""

from __future__ import annotations

import os
import secrets
import statistics
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import ollama
from bench_tickets import jira_client, ticket_keys  # a sibling module: benchmarks run as scripts
from results import record  # a sibling module: benchmarks run as scripts

from remedy.llm.client import CACHE_KEY, DOWN_KEY
from remedy.queue import Origin
from remedy.sandbox.run import HOME_CHANNEL, Sandbox
from remedy_cli.embedded import Runtime
from workers.analysis import analyze
from workers.inprocess import InProcessWorker

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
# As the other benchmarks: db 0. The tests flush db 15 (tests/conftest.py), which would empty the queue mid-run.
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
LATENCY = float(os.environ.get("BENCH_LLM_LATENCY", "2.0"))
TICKETS = int(os.environ.get("BENCH_TICKETS", "20"))
WORKERS = int(os.environ.get("BENCH_WORKERS", str(TICKETS)))
WARM_REPEATS = 5
ROADMAP = (2.0, 3.0)  # seconds per AI operation, as the roadmap measured llama3.2:3b
GOAL_WARM = 0.1
GOAL_PARALLEL = 3.0  # N tickets within this many cold single cards
FIRST = "CPE-3222"
WARMUP = "CPE-123"  # the epic: one card before the measured ones, never measured itself
USER = "U01ALICE"


# -- remedy ---------------------------------------------------------------------------------------------
@dataclass
class Timed:
    seconds: float
    calls: int  # model calls the simulator got
    cards: int = 1
    spread: float = 0.0  # from the first model call reaching the simulator to the last


def answered(rt: Runtime, response_url: str, key: str) -> bool:
    """The analysis card is where the ⏳ was; a ❌ (or any other answer) stops the benchmark."""
    view = rt.sandbox.slack_state.response_view(response_url)
    if view is None or view.text.startswith("⏳"):
        return False
    if not view.text.startswith(f"Analysis of {key}"):
        raise RuntimeError(f"analyze {key} answered: {view.text[:200]}")
    note = view.blocks[-1]["elements"][0]["text"]
    if not note.startswith("Worded by"):  # the template fallback would make every time meaningless
        raise RuntimeError(f"analyze {key} was not worded by the model: {note}")
    return True


def one_card(rt: Runtime, key: str) -> Timed:
    """Slash command → job on the queue (run by ``drain``) → the card in Slack."""
    calls = len(rt.sandbox.ollama_state.calls)
    started = time.perf_counter()
    sent = rt.slash(f"analyze {key}", user=USER)
    rt.drain()
    took = time.perf_counter() - started
    if not answered(rt, sent.response_url, key):
        raise RuntimeError(f"analyze {key}: no answer after drain")
    return Timed(took, len(rt.sandbox.ollama_state.calls) - calls)


def inline_job(rt: Runtime, key: str) -> Timed:
    """The job's own work: ``workers.analysis.analyze`` called directly, no queue in between."""
    url = rt.sandbox.slack_state.new_response_url(HOME_CHANNEL, USER)
    origin = Origin(USER, HOME_CHANNEL, url, text=f"analyze {key}").to_dict()
    calls = len(rt.sandbox.ollama_state.calls)
    started = time.perf_counter()
    analyze(origin, key)
    took = time.perf_counter() - started
    if not answered(rt, url, key):
        raise RuntimeError(f"analyze {key} (inline): no answer")
    return Timed(took, len(rt.sandbox.ollama_state.calls) - calls)


def many_cards(rt: Runtime, keys: list[str], workers: int, timeout: float = 300.0) -> Timed:
    """Every ticket's slash command at once; ``workers`` worker threads take the jobs off the queue."""
    pool = [InProcessWorker(rt.services.queue) for _ in range(workers)]
    for worker in pool:
        worker.start()
    try:
        calls = len(rt.sandbox.ollama_state.calls)
        started = time.perf_counter()
        waiting = {rt.slash(f"analyze {key}", user=USER).response_url: key for key in keys}
        while waiting:
            waiting = {url: key for url, key in waiting.items() if not answered(rt, url, key)}
            if time.perf_counter() - started > timeout:
                raise TimeoutError(f"no answer for {sorted(waiting.values())}")
            time.sleep(0.005)
        took = time.perf_counter() - started
    finally:
        for worker in pool:
            worker.stop()
    arrived = [c.at for c in rt.sandbox.ollama_state.calls[calls:]]
    return Timed(took, len(arrived), len(keys), max(arrived) - min(arrived) if arrived else 0.0)


def pooled_jobs(rt: Runtime, keys: list[str]) -> Timed:
    """The jobs' own work side by side: ``analyze`` for every ticket on a thread pool, no queue."""
    calls = len(rt.sandbox.ollama_state.calls)
    urls = [rt.sandbox.slack_state.new_response_url(HOME_CHANNEL, USER) for _ in keys]
    origins = [Origin(USER, HOME_CHANNEL, url, text=f"analyze {key}").to_dict()
               for url, key in zip(urls, keys, strict=True)]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(keys)) as pool:
        list(pool.map(analyze, origins, keys))
    took = time.perf_counter() - started
    if not all(answered(rt, url, key) for url, key in zip(urls, keys, strict=True)):
        raise RuntimeError("a pooled analyze job left no answer")
    arrived = [c.at for c in rt.sandbox.ollama_state.calls[calls:]]
    return Timed(took, len(arrived), len(keys), max(arrived) - min(arrived) if arrived else 0.0)


def drop_cached_answers(rt: Runtime) -> int:
    """Drop the model answers this runtime cached in Redis (its model name is unique: nobody else's)."""
    llm = rt.services.llm
    pattern = CACHE_KEY.format(model=llm.model, use="*", version="*", facts="*")
    keys = list(llm.redis.scan_iter(match=pattern))
    return int(llm.redis.delete(*keys)) if keys else 0


# -- the naive design -------------------------------------------------------------------------------------
NAIVE_FIELDS = {"summary": "Summarize where this remediation ticket stands in one or two sentences.",
                "risk": "What is the main risk to finishing this remediation ticket on time? One or two sentences.",
                "next": "What should the team do next on this remediation ticket? One or two sentences."}


def _text_of(node: Any) -> str:
    if isinstance(node, dict):
        return str(node.get("text", "")) + " ".join(_text_of(c) for c in node.get("content", []))
    return ""


def naive_ticket(jira: httpx.Client, model: ollama.Client, name: str, key: str) -> dict[str, str]:
    """Read the ticket, then ask the model once per field, each call waited for in turn."""
    r = jira.get(f"/rest/api/3/issue/{key}", params={"fields": "summary,status,priority,assignee,duedate,"
                                                                "description,labels,subtasks"})
    r.raise_for_status()
    f = r.json()["fields"]
    priority = (f.get("priority") or {}).get("name", "none")
    assignee = (f.get("assignee") or {}).get("displayName", "unassigned")
    ticket = (f"Ticket {key}: {f['summary']}. Status: {f['status']['name']}. Priority: {priority}. "
              f"Assignee: {assignee}. Due: {f.get('duedate')}. Labels: {', '.join(f.get('labels') or [])}. "
              f"Subtasks: {len(f.get('subtasks') or [])}. Description: {_text_of(f.get('description'))}")
    answers = {}
    for field_name, ask in NAIVE_FIELDS.items():
        reply = model.chat(model=name, messages=[{"role": "user", "content": f"{ask}\n\n{ticket}"}],
                           options={"temperature": 0}, stream=False)
        answers[field_name] = reply.message.content or ""
    return answers


def naive(sandbox: Sandbox, name: str, keys: list[str]) -> Timed:
    calls = len(sandbox.ollama_state.calls)
    model = ollama.Client(host=sandbox.ollama.url, timeout=60)
    with jira_client(sandbox) as jira:
        started = time.perf_counter()
        for key in keys:
            if not all(naive_ticket(jira, model, name, key).values()):
                raise RuntimeError(f"naive: an empty answer for {key}")
        took = time.perf_counter() - started
    return Timed(took, len(sandbox.ollama_state.calls) - calls, len(keys))


# -- the run ----------------------------------------------------------------------------------------------
@dataclass
class Results:
    keys: list[str]
    cold: Timed
    warm: list[Timed] = field(default_factory=list)
    warm_inline: list[Timed] = field(default_factory=list)
    many: Timed | None = None
    pooled: Timed | None = None
    naive_one: Timed | None = None
    naive_many: Timed | None = None


@contextmanager
def runtime(sandbox: Sandbox) -> Iterator[Runtime]:
    """A remedy process with a model name of its own, so nothing an earlier phase left (the Redis answer
    cache, the tickets' analysis memory in the database) applies; warmed up by one card of a ticket that
    is not measured (connections open, code paths loaded), as a worker that has served before."""
    model = f"llama3.2:bench-{secrets.token_hex(4)}"
    sandbox.ollama_state.models.append(model)
    rt = Runtime.start(sandbox, DATABASE_URL, redis_url=REDIS_URL, REMEDY_QUEUE=f"bench-{secrets.token_hex(4)}",
                       OLLAMA_MODEL=model)
    try:
        rt.services.redis.delete(DOWN_KEY)  # a cool-down left by an earlier run would skip the model
        one_card(rt, WARMUP)
        yield rt
    finally:
        drop_cached_answers(rt)
        rt.services.queue.rq.empty()  # type: ignore[no-untyped-call]  # RQ is unannotated
        rt.stop()


def measure_remedy(sandbox: Sandbox, keys: list[str]) -> Results:
    with runtime(sandbox) as rt:
        res = Results(keys, cold=one_card(rt, FIRST))
        res.warm = [one_card(rt, FIRST) for _ in range(WARM_REPEATS)]
        res.warm_inline = [inline_job(rt, FIRST) for _ in range(WARM_REPEATS)]
    with runtime(sandbox) as rt:
        res.many = many_cards(rt, keys, WORKERS)
    with runtime(sandbox) as rt:
        res.pooled = pooled_jobs(rt, keys)
    return res


def run() -> Results:
    sandbox = Sandbox.start(llm_latency=LATENCY)
    try:
        keys = ticket_keys(sandbox, TICKETS)
        res = measure_remedy(sandbox, keys)
        model = sandbox.ollama_state.models[0]
        res.naive_one = naive(sandbox, model, [FIRST])
        res.naive_many = naive(sandbox, model, keys)
    finally:
        sandbox.stop()
    return res


def median(runs: list[Timed]) -> float:
    return statistics.median(t.seconds for t in runs)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _row(name: str, seconds: float, calls: int | str, note: str = "") -> None:
    print(f"  {name:48} {seconds:8.3f}s {calls!s:>6}  {note}".rstrip())


def report(res: Results) -> bool:
    assert res.many and res.pooled and res.naive_one and res.naive_many
    n, cold, many = len(res.keys), res.cold, res.many
    warm_worst, warm_median = max(t.seconds for t in res.warm), median(res.warm)
    warm_calls = sum(t.calls for t in res.warm) + sum(t.calls for t in res.warm_inline)
    print(f"\nanalyze with the Ollama simulator at {LATENCY:.1f} s per model call "
          f"(roadmap: {ROADMAP[0]:.0f}–{ROADMAP[1]:.0f} s per AI operation)")
    print(f"  {'':48} {'time':>9} {'calls':>6}")
    _row(f"remedy cold, {FIRST} (slash → job → card)", cold.seconds, cold.calls,
         f"{cold.seconds - LATENCY:+.3f}s over one model call")
    _row(f"remedy warm, median of {WARM_REPEATS} (slash → card)", warm_median,
         sum(t.calls for t in res.warm), f"worst {warm_worst:.3f}s")
    _row("remedy warm, the job alone (analyze() inline)", median(res.warm_inline),
         sum(t.calls for t in res.warm_inline), "median")
    _row(f"remedy cold, {n} tickets, {WORKERS} workers", many.seconds, many.calls,
         f"{many.seconds / n:.3f}s a card, {many.seconds / cold.seconds:.2f}× one cold card; "
         f"model calls began within {many.spread:.2f}s")
    _row(f"remedy cold, {n} tickets, analyze() on {n} threads", res.pooled.seconds, res.pooled.calls,
         f"the jobs alone: {res.pooled.seconds / cold.seconds:.2f}×; calls began within {res.pooled.spread:.2f}s")
    _row("naive, 1 ticket (1 call per field, no cache)", res.naive_one.seconds, res.naive_one.calls)
    _row(f"naive, {n} tickets, one after another", res.naive_many.seconds, res.naive_many.calls)
    print(f"naive/remedy: 1 ticket {res.naive_one.seconds / cold.seconds:.1f}×, "
          f"{n} tickets {res.naive_many.seconds / many.seconds:.1f}×; "
          f"remedy per card vs roadmap {ROADMAP[0]:.0f}–{ROADMAP[1]:.0f} s: cold {cold.seconds:.2f} s, "
          f"warm {warm_median:.3f} s, {n} in parallel {many.seconds / n:.2f} s")
    goals = [(f"one model call per card (cold {cold.calls}, {n} tickets {many.calls}/{n} and {res.pooled.calls}/{n})",
              cold.calls == 1 and many.calls == res.pooled.calls == n),
             (f"warm < {GOAL_WARM} s with no model call ({warm_median:.3f} s, {warm_calls} calls)",
              warm_median < GOAL_WARM and warm_calls == 0),
             (f"{n} tickets ≤ {GOAL_PARALLEL:.0f}× one cold card ({many.seconds / cold.seconds:.2f}×)",
              many.seconds <= GOAL_PARALLEL * cold.seconds)]
    for name, ok in goals:
        print(f"  {verdict(ok)}  {name}")
    record("analyze, one cold card vs naive (1 call per field)", cold.seconds, res.naive_one.seconds,
           "1 model call a card", goals[0][1])
    record("analyze, warm card", warm_median, None, f"< {GOAL_WARM} s, no model call", goals[1][1])
    record(f"analyze, {n} tickets vs one cold card", many.seconds, cold.seconds, f"≤ {GOAL_PARALLEL:.0f}×",
           goals[2][1])
    ok = all(ok for _, ok in goals)
    print("RESULT:", "goal met" if ok else "goal MISSED")
    return ok


def main() -> int:
    return 0 if report(run()) else 1


if __name__ == "__main__":
    sys.exit(main())
