"""JiraClient retries (Retry-After, jittered backoff, what is safe to resend), per-issue write
pacing, and the client against the Jira simulator."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from remedy.jira import (
    JiraClient,
    JiraInvalid,
    JiraRateLimited,
    JiraUnavailable,
    WritePacer,
    text_to_adf,
)
from remedy.sandbox.jira import JiraState, create_app
from tests.jira_fake import (
    API,
    SARAH,
    TOKEN,
    FakeJira,
    comment,
    comment_page,
    no_content,
)


@pytest.fixture
def jira() -> FakeJira:
    return FakeJira()

# -- retries -----------------------------------------------------------------------------------


def rate_limited(retry_after: str | None = None) -> httpx.Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return httpx.Response(429, json={"errorMessages": ["Rate limit exceeded."], "errors": {}}, headers=headers)


def unavailable() -> httpx.Response:
    return httpx.Response(
        503, text="<html><body>Service Unavailable</body></html>", headers={"Content-Type": "text/html"}
    )


def test_429_waits_retry_after_then_succeeds(jira: FakeJira, caplog: pytest.LogCaptureFixture) -> None:
    jira.on("GET", "/priority", rate_limited("7"), httpx.Response(200, json=[{"id": "1", "name": "High"}]))
    with caplog.at_level(logging.INFO, logger="remedy.jira"):
        assert jira.client().priorities() == ["High"]
    assert jira.sleeps == [7.0]
    assert "try 2 of 4 in 7.0 s" in caplog.text
    assert TOKEN not in caplog.text and "Basic " not in caplog.text


def test_retry_after_as_an_http_date(jira: FakeJira) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=5), usegmt=True)
    jira.on("GET", "/priority", rate_limited(when), httpx.Response(200, json=[]))
    jira.client().priorities()
    assert len(jira.sleeps) == 1 and 3.0 <= jira.sleeps[0] <= 5.0


def test_5xx_backs_off_with_jitter_then_succeeds(jira: FakeJira) -> None:
    jira.on("GET", "/priority", unavailable(), unavailable(), unavailable(), httpx.Response(200, json=[]))
    assert jira.client().priorities() == []
    assert len(jira.requests) == 4 and len(jira.sleeps) == 3
    # Full jitter under a doubling ceiling: 0.5, 1, 2 s.
    assert all(0 <= wait <= ceiling <= 30 for wait, ceiling in zip(jira.sleeps, [0.5, 1.0, 2.0], strict=True))


def test_backoff_never_exceeds_max_backoff(jira: FakeJira) -> None:
    jira.on("GET", "/priority", unavailable())
    with pytest.raises(JiraUnavailable) as caught:
        jira.client(max_tries=10, max_backoff=1.5).priorities()
    assert len(jira.requests) == 10 and max(jira.sleeps) <= 1.5
    assert caught.value.status == 503 and caught.value.retry_after == 1.5  # a hint for the job's own retry


def test_429_four_times_is_rate_limited_after_exactly_four_tries(jira: FakeJira) -> None:
    jira.on("GET", "/priority", rate_limited("2"))
    with pytest.raises(JiraRateLimited) as caught:
        jira.client().priorities()
    assert len(jira.requests) == 4 and jira.sleeps == [2.0, 2.0, 2.0]
    assert caught.value.retry_after == 2.0 and caught.value.status == 429


def test_retry_after_longer_than_max_backoff_gives_up_at_once(jira: FakeJira) -> None:
    jira.on("GET", "/priority", rate_limited("120"))
    with pytest.raises(JiraRateLimited) as caught:
        jira.client().priorities()
    assert len(jira.requests) == 1 and jira.sleeps == []
    assert caught.value.retry_after == 120.0


def test_comment_post_that_timed_out_is_not_sent_twice(jira: FakeJira) -> None:
    jira.on("POST", "/issue/CPE-3222/comment", httpx.ReadTimeout("slow"), httpx.Response(201, json=comment("9", "x")))
    with pytest.raises(JiraUnavailable, match="timeout after 10 s"):
        jira.client().add_comment("CPE-3222", "x")
    assert len(jira.requests) == 1 and jira.sleeps == []


def test_marked_comment_that_timed_out_is_found_instead_of_reposted(jira: FakeJira) -> None:
    jira.on("POST", "/issue/CPE-3222/comment", httpx.ReadTimeout("slow"))
    jira.on("GET", "/issue/CPE-3222/comment", comment_page([comment("9", "x", marker="m-9")], 0, 1))
    made = jira.client().add_comment("CPE-3222", "x", marker="m-9")
    assert made.id == "9" and [r.method for r in jira.requests] == ["POST", "GET"]


def test_idempotent_posts_retry_after_timeouts(jira: FakeJira) -> None:
    jira.on("POST", "/issue/CPE-3222/comment", httpx.ReadTimeout("slow"), httpx.Response(201, json=comment("9", "x")))
    client = jira.client()
    response = client._send("POST", f"{API}/issue/CPE-3222/comment", json={"body": text_to_adf("x")}, idempotent=True)
    assert response.status_code == 201 and len(jira.requests) == 2
    # Searches and watchers are POSTs too, but repeating them is harmless.
    jira.on("POST", "/search/jql", httpx.ReadTimeout("slow"), httpx.Response(200, json={"issues": [], "isLast": True}))
    jira.on("POST", "/issue/CPE-3222/watchers", httpx.WriteTimeout("slow"), no_content())
    assert list(client.search("project = CPE")) == []
    client.add_watcher("CPE-3222", SARAH)
    assert len(jira.requests) == 6


def test_what_is_retried_for_a_non_idempotent_post(jira: FakeJira) -> None:
    created = httpx.Response(201, json={"id": "1", "key": "CPE-2", "self": "x"})
    # Refused before sending, or refused by Jira before doing anything: safe to send again.
    jira.on("POST", "/issue", httpx.ConnectError("refused"), rate_limited("1"), unavailable(), created)
    assert jira.client().create_subtask("CPE-1", "s") == "CPE-2"
    assert len(jira.requests) == 4
    # A 500 may come after the write happened: not repeated.
    jira.on("POST", "/issue", httpx.Response(500, json={"errorMessages": ["boom"], "errors": {}}), created)
    with pytest.raises(JiraUnavailable, match="HTTP 500"):
        jira.client().create_subtask("CPE-1", "s")
    assert len(jira.requests) == 5
    # A PUT is idempotent: a 500 is retried.
    jira.on("PUT", "/issue/CPE-1", httpx.Response(500), no_content())
    jira.client().set_priority("CPE-1", "High")
    assert len(jira.requests) == 7


# -- write pacing ------------------------------------------------------------------------------


@dataclass
class FakeClock:
    now: float = 0.0
    slept: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_pacer_holds_the_21st_write_until_the_window_frees() -> None:
    clock = FakeClock()
    pacer = WritePacer(clock=clock, sleep=clock.sleep)
    times = []
    for _ in range(25):
        pacer.wait("CPE-3222")
        times.append(clock.now)
        clock.now += 0.01  # each write takes 10 ms
    assert times[:20] == pytest.approx([i * 0.01 for i in range(20)])
    assert times[20] == pytest.approx(2.0)  # the first write's slot frees 2 s after it
    assert all(later - earlier >= 2.0 - 1e-9 for earlier, later in zip(times, times[20:], strict=False))
    slept = len(clock.slept)
    pacer.wait("CPE-3445")  # another ticket does not wait
    pacer.wait("cpe-3445")
    assert len(clock.slept) == slept


def test_client_paces_writes_per_issue_and_links_on_both(jira: FakeJira) -> None:
    clock = FakeClock()
    jira.on("POST", "/issue/CPE-1/watchers", no_content())
    jira.on("POST", "/issueLink", httpx.Response(201))
    jira.on("GET", "/issue/CPE-1/watchers", httpx.Response(200, json={"watchers": []}))
    client = jira.client(pacer=WritePacer(max_writes=3, per_seconds=2.0, clock=clock, sleep=clock.sleep))
    for _ in range(3):
        client.add_watcher("CPE-1", SARAH)
    client.watchers("CPE-1")  # reads are not paced
    assert clock.slept == []
    client.link("CPE-2", "CPE-3")
    assert clock.slept == []
    client.link("CPE-1", "CPE-2")  # CPE-1's window is full
    assert clock.slept == [2.0]


def test_pacer_is_thread_safe() -> None:
    pacer = WritePacer(max_writes=5, per_seconds=0.1)
    granted: list[float] = []
    lock = threading.Lock()

    def writer() -> None:
        for _ in range(5):
            pacer.wait("CPE-3222")
            with lock:
                granted.append(time.monotonic())

    threads = [threading.Thread(target=writer) for _ in range(4)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
    # 20 writes, 5 per 0.1 s: the last batch cannot start before 0.3 s.
    assert len(granted) == 20 and time.monotonic() - started >= 0.3 - 0.01
    assert not any(thread.is_alive() for thread in threads)


# -- against the simulator (it serves these endpoints the way Jira Cloud does) -----------------


Sandbox = tuple[JiraState, JiraClient, list[float]]


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    state = JiraState.seeded()
    sleeps: list[float] = []
    client = JiraClient("http://jira.sandbox", "remedy@example.com", "sandbox-jira-token",
                        transport=httpx.WSGITransport(app=create_app(state)), sleep=sleeps.append)  # fmt: skip
    with client:
        yield state, client, sleeps


def test_sandbox_ticket_workflow_end_to_end(sandbox: Sandbox) -> None:
    _, client, _ = sandbox
    sarah = client.find_users("sarah.chen@")[0]

    posted = client.add_comment("CPE-3222", f"Escalated to @[Sarah Chen]({sarah.account_id})", marker="esc:1")
    found = client.find_comment("CPE-3222", "esc:1")
    assert found is not None and found.id == posted.id and found.body_text == "Escalated to @Sarah Chen"

    child = client.create_subtask("CPE-3222", "Pilot ring 2", labels=["pilot"])
    client.link("CPE-3301", child)  # CPE-3301 blocks the new sub-task
    assert [(link.phrase, link.other_key) for link in client.get_issue(child).links] == [("is blocked by", "CPE-3301")]

    client.add_watcher("CPE-3222", sarah.account_id)
    client.assign("CPE-3222", sarah.account_id)
    client.set_priority("CPE-3222", "Highest")
    issue = client.get_issue("CPE-3222")
    assert sarah.account_id in [w.account_id for w in client.watchers("CPE-3222")]
    assert (issue.assignee, issue.priority) == (sarah, "Highest")
    assert child in [sub.key for sub in issue.subtasks] and issue.watch_count == len(client.watchers("CPE-3222"))

    rollout = next(t for t in client.transitions("CPE-3222") if t.to_status == "Rollout")
    client.transition("CPE-3222", rollout.id)
    assert client.get_issue("CPE-3222").status == "Rollout"


def test_sandbox_bulk_transition_and_refusals(sandbox: Sandbox) -> None:
    state, client, sleeps = sandbox
    child = client.create_subtask("CPE-3222", "Pilot ring 3")
    move = client.transitions(child)[0]
    result = client.bulk_transition([child], move.id, poll_every=0.01)
    assert result.done_ids == [client.get_issue(child).id] and result.failed == {}
    assert client.get_issue(child).status == move.to_status

    with pytest.raises(JiraInvalid) as caught:
        client.set_priority("CPE-3222", "Urgent")
    assert "priority" in caught.value.field_errors

    state.fail_next(429, retry_after=1, path_contains="/comment")
    client.add_comment("CPE-3222", "after a rate limit")
    assert sleeps[-1] == 1.0
