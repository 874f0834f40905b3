"""The circuit breaker (remedy.circuit) in the real Jira and Jamf clients, against their simulators:
N consecutive failures open it, calls then fail at once with a clear message and send nothing, one
trial after the cooldown closes it (or opens it again), and anything Jira or Jamf answers resets it."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest

from remedy.circuit import Circuit
from remedy.config import load_settings
from remedy.jamf import JamfClient
from remedy.jamf.errors import JamfUnavailable
from remedy.jira import JiraClient, JiraNotFound, JiraRateLimited, JiraUnavailable
from remedy.sandbox.jamf import JamfState
from remedy.sandbox.jamf import create_app as jamf_app
from remedy.sandbox.jira import JiraState
from remedy.sandbox.jira import create_app as jira_app

OPENED_AT = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC


class Clock:
    def __init__(self) -> None:
        self.now = OPENED_AT

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def state() -> JiraState:
    return JiraState.seeded()


def jira_client(state: JiraState, clock: Clock, tries: int = 1, failures: int = 5) -> JiraClient:
    transport = httpx.WSGITransport(app=jira_app(state))
    return JiraClient("http://jira.test", state.email, state.api_token, transport=transport, max_tries=tries,
                      sleep=lambda _: None, circuit=Circuit("Jira", failures, 30.0, clock))


@pytest.fixture
def jira(state: JiraState, clock: Clock) -> Iterator[JiraClient]:
    with jira_client(state, clock) as client:
        yield client


def fail(jira: JiraClient, times: int) -> None:
    for _ in range(times):
        with pytest.raises(JiraUnavailable, match=r"HTTP 503"):
            jira.get_issue("CPE-3222")


def test_five_failures_open_it_and_then_nothing_is_sent(jira: JiraClient, state: JiraState, clock: Clock) -> None:
    state.fail_next(503, times=100)
    fail(jira, 5)
    for _ in range(195):  # a storm of commands: 195 more calls
        with pytest.raises(JiraUnavailable) as refused:
            jira.get_issue("CPE-3222")
    assert str(refused.value) == ("Jira is unavailable: it failed 5 times in a row, so remedy pauses calls to it "
                                  "for 30 s (circuit open); try again at 22:13:50 UTC")
    assert refused.value.retry_after == 30.0
    assert len(state.requests) == 5  # not 200
    assert jira._http.circuit is not None and jira._http.circuit.refused == 195 and jira._http.circuit.opened == 1
    clock.now += 12
    with pytest.raises(JiraUnavailable) as later:
        jira.get_issue("CPE-3222")
    assert later.value.retry_after == 18.0 and "try again at 22:13:50 UTC" in str(later.value)


def test_after_the_cooldown_one_trial_closes_it(jira: JiraClient, state: JiraState, clock: Clock) -> None:
    state.fail_next(503, times=5)
    fail(jira, 5)
    clock.now += 30
    assert jira._http.circuit is not None and jira._http.circuit.state == "half-open"
    assert jira.get_issue("CPE-3222").key == "CPE-3222"  # the trial
    assert jira._http.circuit.state == "closed"
    assert [jira.get_issue(k).key for k in ("CPE-3301", "CPE-3445")] == ["CPE-3301", "CPE-3445"]
    assert len(state.requests) == 8


def test_a_failed_trial_opens_it_for_another_cooldown(jira: JiraClient, state: JiraState, clock: Clock) -> None:
    state.fail_next(503, times=6)
    fail(jira, 5)
    clock.now += 31
    fail(jira, 1)  # the trial: one request
    with pytest.raises(JiraUnavailable, match=r"circuit open\); try again at 22:14:21 UTC"):
        jira.get_issue("CPE-3222")
    assert len(state.requests) == 6


def test_successes_and_any_answer_reset_the_count(jira: JiraClient, state: JiraState) -> None:
    state.fail_next(503, times=4)
    fail(jira, 4)
    assert jira.get_issue("CPE-3222").key == "CPE-3222"
    state.fail_next(503, times=4)
    fail(jira, 4)
    with pytest.raises(JiraNotFound):  # a 404 is Jira answering: it is up
        jira.get_issue("CPE-99999")
    state.fail_next(503, times=4)
    fail(jira, 4)
    assert jira._http.circuit is not None and jira._http.circuit.state == "closed"
    assert len(state.requests) == 14  # every call was sent


def test_429s_count_only_when_our_own_retries_were_spent(state: JiraState, clock: Clock) -> None:
    # One try per call: the caller (the bulk runner) waits Retry-After itself, so a burst of 429s is pacing.
    with jira_client(state, clock, tries=1) as paced:
        state.fail_next(429, times=8, retry_after=1)
        for _ in range(8):
            with pytest.raises(JiraRateLimited):
                paced.priorities()
        assert paced.priorities() == ["Highest", "High", "Medium", "Low", "Lowest"]
    # Two tries per call: each failure is a 429 that outlasted a wait; five in a row open the circuit.
    with jira_client(state, clock, tries=2) as retrying:
        state.fail_next(429, times=10, retry_after=1)
        for _ in range(5):
            with pytest.raises(JiraRateLimited):
                retrying.priorities()
        with pytest.raises(JiraUnavailable, match="failed 5 times in a row"):
            retrying.priorities()
    assert len(state.requests) == 8 + 1 + 10


def test_zero_failures_turns_it_off(state: JiraState, clock: Clock) -> None:
    with jira_client(state, clock, failures=0) as jira:
        state.fail_next(503, times=20)
        fail(jira, 20)
    assert len(state.requests) == 20


def test_only_one_trial_at_a_time_while_half_open(clock: Clock) -> None:
    circuit = Circuit("Jira", 1, 30.0, clock)
    refuse = lambda message, wait: JiraUnavailable(message, retry_after=wait)  # noqa: E731
    with pytest.raises(ValueError):
        circuit.run(lambda: (_ for _ in ()).throw(ValueError("no verdict")), lambda e: None, refuse)
    assert circuit.state == "closed"  # an error that says nothing about the service
    with pytest.raises(JiraUnavailable):
        circuit.run(lambda: (_ for _ in ()).throw(JiraUnavailable("down")), lambda e: True, refuse)
    clock.now += 30
    started, release = threading.Event(), threading.Event()

    def trial() -> str:
        started.set()
        release.wait(5)
        return "ok"

    results: list[str] = []
    worker = threading.Thread(target=lambda: results.append(circuit.run(trial, lambda e: True, refuse)))
    worker.start()
    started.wait(5)
    with pytest.raises(JiraUnavailable, match="circuit open"):  # a second caller while the trial runs
        circuit.run(lambda: "second", lambda e: True, refuse)
    release.set()
    worker.join(5)
    assert results == ["ok"] and circuit.state == "closed"
    assert circuit.run(lambda: "after", lambda e: True, refuse) == "after"


def test_jamf_counts_a_call_once_even_when_its_token_fetch_fails_inside_it(clock: Clock) -> None:
    state = JamfState.seeded(n=10)
    client = JamfClient("http://jamf.test", state.client_id, state.client_secret,
                        transport=httpx.WSGITransport(app=jamf_app(state)), sleep=lambda _: None,
                        circuit=Circuit("Jamf", 3, 30.0, clock))
    with client:
        state.fail_next(503, times=4 * 3, path_contains="/oauth/token")  # 4 tries per token fetch
        for _ in range(3):
            with pytest.raises(JamfUnavailable, match="HTTP 503"):
                client.version()
        with pytest.raises(JamfUnavailable) as refused:
            client.version()
        assert "Jamf is unavailable: it failed 3 times in a row" in str(refused.value)
        assert len(state.requests) == 12  # 3 calls x 4 token tries, then nothing
        clock.now += 30
        assert client.version().startswith("11.")  # the trial fetches a token inside itself: not refused
        assert client.version().startswith("11.")
    assert len(state.requests) == 12 + 3  # token, version, version


def test_settings_name_the_threshold_and_cooldown() -> None:
    settings = load_settings(REMEDY_CIRCUIT_FAILURES=7, REMEDY_CIRCUIT_COOLDOWN=12.5)
    assert (settings.REMEDY_CIRCUIT_FAILURES, settings.REMEDY_CIRCUIT_COOLDOWN) == (7, 12.5)
    assert load_settings().REMEDY_CIRCUIT_FAILURES == 5 and load_settings().REMEDY_CIRCUIT_COOLDOWN == 30.0
