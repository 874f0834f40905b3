"""Service storms: Jira and Jamf refusing (429 + Retry-After) or failing (5xx) for a while, Slack rate
limiting, Ollama hanging. Every command ends applied exactly once or clearly failed (❌ with a reason and
Retry), nobody retries hot (the simulators count every request), and a storm of commands meets the
circuit breaker (remedy.circuit): a handful of requests and one clear "circuit open" reason, not hundreds of
identical errors.

Scaling: a real storm lasts a minute or more; here it lasts as many requests as are injected, with Retry-After
of 0–1 s and a circuit cooldown of 1 s. What the assertions bound is the number of requests, which depends
on the number of refusals remedy meets before it stops asking (REMEDY_CIRCUIT_FAILURES x tries), plus one
trial per cooldown: a 60 s storm with the default 30 s cooldown costs 2 more trials, not 60 s of retrying.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from itertools import pairwise
from typing import Any

import httpx
import pytest

from remedy.sandbox.ollama_state import Hang
from remedy.sandbox.run import BOT_TOKEN, HOME_CHANNEL, Sandbox
from remedy_cli.embedded import Runtime, Sent
from tests.chaos.conftest import ChaosReport
from tests.slackview import button

TRIES = 2  # Jira tries per call here (4 in production): keeps the backoff waits of a storm short


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    sb = Sandbox.start(fleet_size=60)
    yield sb
    sb.stop()


def start(sandbox: Sandbox, chaos_pg: str, chaos_redis: str, **settings: Any) -> Runtime:
    values: dict[str, Any] = {"REMEDY_RETRY_DELAYS": [0], "REMEDY_JIRA_TRIES": TRIES, "REMEDY_CIRCUIT_FAILURES": 5,
                              "REMEDY_CIRCUIT_COOLDOWN": 1.0}
    return Runtime.start(sandbox, chaos_pg, redis_url=chaos_redis, **{**values, **settings})


@pytest.fixture
def rt(sandbox: Sandbox, chaos_pg: str, chaos_redis: str) -> Iterator[Runtime]:
    runtime = start(sandbox, chaos_pg, chaos_redis)
    yield runtime
    runtime.stop()


def answer(rt: Runtime, sent: Sent) -> Any:
    return rt.sandbox.slack_state.response_view(sent.response_url)


def comments_with(rt: Runtime, key: str, tag: str) -> int:
    return sum(1 for c in rt.sandbox.jira_state.issues[key].comments if tag in json.dumps(c.body))


def comment_posts(rt: Runtime) -> list[Any]:
    return [r for r in rt.sandbox.jira_state.requests if r.method == "POST" and r.path.endswith("/comment")]


def test_jira_429s_with_retry_after_are_waited_out_not_hammered(sandbox: Sandbox, chaos_pg: str, chaos_redis: str,
                                                                chaos_report: ChaosReport) -> None:
    # A job retry 2 s later (production: 3 s, then 15 s), longer than the Retry-After: 1 Jira sends.
    rt = start(sandbox, chaos_pg, chaos_redis, REMEDY_RETRY_DELAYS=[2])
    try:
        jira = rt.sandbox.jira_state
        jira.fail_next(429, times=4, retry_after=1, path_contains="/comment")
        sent = [rt.slash(f'comment CPE-3222 "rate-{n}"') for n in range(3)]
        rt.drain()
        posts = comment_posts(rt)
        assert [comments_with(rt, "CPE-3222", f"rate-{n}") for n in range(3)] == [1, 1, 1]  # each exactly once
        assert all(answer(rt, s).text.startswith("✅") for s in sent)
        assert len(posts) == 3 + 4  # each 429 cost one request, nothing more
        for n in range(3):  # every re-send of a command came after the Retry-After it was given
            mine = [p for p in posts if f"rate-{n}" in json.dumps(p.body)]
            assert all(b.at - a.at >= 0.9 for a, b in pairwise(mine))
    finally:
        rt.stop()
    chaos_report.add("storm: Jira 429 + Retry-After", runs=3, applied=3)


def test_a_jira_outage_opens_the_circuit_then_retry_applies_each_once(rt: Runtime,
                                                                      chaos_report: ChaosReport) -> None:
    jira = rt.sandbox.jira_state
    jira.fail_next(503, times=10_000, retry_after=0)  # down "for a minute": until cleared below
    users = ["U01ALICE", "U02SARAH", "U03JSMITH", "U04JDOE"]
    sent = [rt.slash(f'comment CPE-3222 "outage-{n:02d}"', user=users[n % 4]) for n in range(40)]
    rt.drain()
    views = [answer(rt, s) for s in sent]
    assert all(v is not None and v.text.startswith("❌") for v in views)
    circuit_open = [v for v in views if "circuit open" in v.text]
    assert len(circuit_open) >= 38  # all but the few that met the outage first say why they did not even try
    reason = "Jira is unavailable: it failed 5 times in a row, so remedy pauses calls to it for 1 s (circuit open)"
    assert reason in circuit_open[0].text
    # 40 commands x 2 job runs x 2 tries would be 160 requests; the breaker stops at 5 failed calls (x 2 tries),
    # plus the half-open trials the cooldown allows while the queue drains.
    storm_requests, storm_posts = len(jira.requests), len(comment_posts(rt))
    assert storm_requests <= 5 * TRIES + 6, storm_requests

    jira.failures.clear()  # Jira is back
    time.sleep(1.1)  # the cooldown passes: the next call is the trial
    for n, view in enumerate(views):  # each user presses Retry on their own ❌
        rt.press(button(view.blocks, "Retry"), user=users[n % 4], ephemeral=True)
    rt.drain()
    found = [comments_with(rt, "CPE-3222", f"outage-{n:02d}") for n in range(40)]
    assert found == [1] * 40  # every command applied exactly once: nothing lost, nothing doubled
    assert len(comment_posts(rt)) == storm_posts + 40  # and one POST each to do it
    chaos_report.add("storm: Jira 5xx outage + circuit breaker", runs=40, applied=sum(found),
                     duplicates=sum(max(f - 1, 0) for f in found), lost=found.count(0))


def test_jamf_429s_are_waited_out_and_an_outage_opens_its_circuit(rt: Runtime, chaos_report: ChaosReport) -> None:
    jamf = rt.sandbox.jamf_state
    jamf.fail_next(429, times=3, retry_after=1, path_contains="computers-inventory")
    first = rt.slash("compliance CPE-3222")
    rt.drain()
    reads = [r for r in jamf.requests if "computers-inventory" in r.path]
    assert answer(rt, first).text.startswith("✅") and len(reads) == 3 + 1
    assert all(b.at - a.at >= 0.9 for a, b in pairwise(reads))  # Retry-After honoured
    jamf.requests.clear()

    jamf.fail_next(503, times=10_000, retry_after=0, path_contains="computers-inventory")
    sent = [rt.slash("compliance CPE-3222", user=f"U09VIEW{n:02d}") for n in range(20)]
    rt.drain()
    views = [answer(rt, s) for s in sent]
    inventory = [r for r in jamf.requests if "computers-inventory" in r.path]
    # 20 commands x 2 job runs x 4 tries (Jamf's own) would be 160 reads: the breaker stops at 5 failed calls.
    assert len(inventory) <= 5 * 4 + 4, len(inventory)
    assert all(v is not None and "Jamf is unavailable" in v.text for v in views), [v.text for v in views if v]
    assert sum("circuit open" in v.text for v in views) >= 17
    jamf.failures.clear()
    time.sleep(1.1)
    again = rt.slash("compliance CPE-3222")
    rt.drain()
    assert answer(rt, again).text.startswith("✅")  # the trial call closes the circuit
    chaos_report.add("storm: Jamf 429 + Retry-After", runs=1, applied=1)
    chaos_report.add("storm: Jamf 5xx outage + circuit breaker", runs=21, applied=1, refused=20)


def test_slack_429_is_retried_after_retry_after(rt: Runtime, chaos_report: ChaosReport) -> None:
    slack = rt.sandbox.slack_state
    slack.fail_next("chat.postMessage", status=429, retry_after=1, times=2)
    raw = httpx.post(f"{rt.sandbox.slack.url}/api/chat.postMessage", headers={"Authorization": f"Bearer {BOT_TOKEN}"},
                     data={"channel": HOME_CHANNEL, "text": "probe"}, timeout=5)
    assert raw.status_code == 429 and raw.headers["Retry-After"] == "1"  # the simulator answers as Slack does
    slack.reset_calls()
    sent = rt.slash("work CPE-3222")
    rt.drain()
    assert answer(rt, sent).text.startswith("✅")
    posts = slack.calls("chat.postMessage")
    assert len(slack.all_messages(HOME_CHANNEL)) == 2  # the ticket's thread and its card, once each
    assert len(posts) == 2 + 1  # one 429 re-sent once, after waiting
    assert posts[1].at - posts[0].at >= 0.9
    chaos_report.add("storm: Slack 429", runs=1, applied=1)


def test_a_hanging_ollama_costs_one_timeout_then_templates(sandbox: Sandbox, chaos_pg: str, chaos_redis: str,
                                                           chaos_report: ChaosReport) -> None:
    runtime = start(sandbox, chaos_pg, chaos_redis, OLLAMA_TIMEOUT=1.0)
    try:
        sandbox.ollama_state.script(Hang(), times=None)
        started = time.monotonic()
        sent = [runtime.slash(f"daily update {key}", user="U02SARAH") for key in ("CPE-3222", "CPE-3301", "CPE-3445")]
        runtime.drain()
        elapsed = time.monotonic() - started
        assert all(answer(runtime, s).text.startswith("✅") for s in sent)
        assert len(sandbox.ollama_state.calls) == 1  # one slow call, then the cool-down skips the model
        assert 1.0 <= elapsed < 15
        assert runtime.services.llm.last_error is not None and "Timeout" in runtime.services.llm.last_error
    finally:
        sandbox.ollama_state.release()
        runtime.stop()
    chaos_report.add("storm: Ollama hanging", runs=3, applied=3)
