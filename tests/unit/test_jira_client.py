"""JiraClient against Jira Cloud as documented: request shapes, parsing, errors, retries, pacing.

``FakeJira`` answers through ``httpx.MockTransport`` with bodies shaped like the OpenAPI spec's
examples (User, Comment, PageOfComments, Transitions, CreatedIssue, BulkOperationProgress …) and
records every request, so each test can check exactly what would have gone over the wire.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from remedy.jira import (
    JiraAuthError,
    JiraClient,
    JiraError,
    JiraForbidden,
    JiraInvalid,
    JiraNotFound,
    JiraRateLimited,
    JiraUnavailable,
    WritePacer,
    text_to_adf,
)
from remedy.sandbox.jira import JiraState, create_app

BASE = "https://acme.atlassian.net"
API = "/rest/api/3"
EMAIL, TOKEN = "remedy@acme.example", "ATATT-secret-token-value"
SARAH = "712020:5b10ac8d-82e0-5b22-cc7d-4ef5aaaa0001"

Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


@dataclass
class FakeJira:
    """Routes (method, path) to scripted answers; the last answer of a route repeats."""

    routes: dict[tuple[str, str], list[Answer]] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)

    def on(self, method: str, path: str, *answers: Answer) -> None:
        self.routes[(method, API + path)] = list(answers)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answers = self.routes.get((request.method, request.url.path))
        if not answers:
            return httpx.Response(404, json={"errorMessages": [f"null for uri: {request.url}"], "errors": {}})
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer(request) if callable(answer) else answer

    def client(self, **options: Any) -> JiraClient:
        options.setdefault("sleep", self.sleeps.append)
        return JiraClient(BASE, EMAIL, TOKEN, transport=httpx.MockTransport(self.handle), **options)

    def sent(self, method: str | None = None) -> list[httpx.Request]:
        return [r for r in self.requests if method is None or r.method == method]


@pytest.fixture
def jira() -> FakeJira:
    return FakeJira()


def body(request: httpx.Request) -> Any:
    return json.loads(request.content)


def user(account_id: str, name: str, email: str | None = None) -> dict[str, Any]:
    data = {"accountId": account_id, "accountType": "atlassian", "active": True, "displayName": name,
            "self": f"{BASE}{API}/user?accountId={account_id}", "timeZone": "Europe/Paris"}  # fmt: skip
    return {**data, "emailAddress": email} if email else data


def comment(comment_id: str, text: str, marker: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "author": user("557058:bot", "Remedy Bot"), "body": text_to_adf(text), "id": comment_id,
        "created": "2026-11-12T09:30:00.000+0000", "updated": "2026-11-12T09:30:00.000+0000",
        "self": f"{BASE}{API}/issue/10010/comment/{comment_id}", "jsdPublic": True,
    }  # fmt: skip
    if marker is not None:
        data["properties"] = [{"key": "remedy", "value": {"marker": marker}}]
    return data


def comment_page(comments: list[dict[str, Any]], start: int, total: int) -> httpx.Response:
    return httpx.Response(200, json={"comments": comments, "maxResults": 100, "startAt": start, "total": total})


def no_content() -> httpx.Response:
    return httpx.Response(204)


def status(name: str, category: str) -> dict[str, Any]:
    return {"name": name, "id": "3", "statusCategory": {"id": 4, "key": category, "name": category.title()}}


# -- every method's request and parsing --------------------------------------------------------


def test_find_users_searches_by_query(jira: FakeJira) -> None:
    jira.on("GET", "/user/search", httpx.Response(200, json=[user(SARAH, "Sarah Chen", "sarah.chen@acme.example")]))

    found = jira.client().find_users("sarah", max_results=5)

    assert [(u.account_id, u.display_name, u.email) for u in found] == [
        (SARAH, "Sarah Chen", "sarah.chen@acme.example")
    ]
    assert dict(jira.requests[0].url.params) == {"query": "sarah", "maxResults": "5"}


def test_priorities_keep_jiras_order(jira: FakeJira) -> None:
    names = ["Highest", "High", "Medium", "Low", "Lowest"]
    jira.on("GET", "/priority", httpx.Response(200, json=[
        {"id": str(n), "name": name, "self": f"{BASE}{API}/priority/{n}", "statusColor": "#cfcfcf"}
        for n, name in enumerate(names, 1)
    ]))  # fmt: skip
    assert jira.client().priorities() == names


def test_transitions_list_targets_and_transition_posts_the_id(jira: FakeJira) -> None:
    jira.on("GET", "/issue/CPE-3222/transitions", httpx.Response(200, json={"transitions": [
        {"id": "21", "name": "Start rollout", "hasScreen": False, "isAvailable": True,
         "to": status("Rollout", "indeterminate")},
        {"id": "31", "name": "Done", "hasScreen": False, "isAvailable": True, "to": status("Done", "done")},
    ]}))  # fmt: skip
    jira.on("POST", "/issue/CPE-3222/transitions", no_content())
    client = jira.client()

    moves = client.transitions("cpe-3222")
    client.transition("CPE-3222", "31")

    assert [(t.id, t.name, t.to_status, t.to_category) for t in moves] == [
        ("21", "Start rollout", "Rollout", "indeterminate"),
        ("31", "Done", "Done", "done"),
    ]
    assert body(jira.sent("POST")[0]) == {"transition": {"id": "31"}}


def test_add_comment_sends_adf_and_the_marker_property(jira: FakeJira) -> None:
    jira.on("POST", "/issue/CPE-3222/comment", httpx.Response(201, json=comment("10001", "Escalated to *Sarah*")))
    client = jira.client()

    made = client.add_comment("CPE-3222", "Escalated to *Sarah*", marker="escalate:CPE-3222:sarah")
    plain = client.add_comment("CPE-3222", "no marker")

    sent = [body(r) for r in jira.sent("POST")]
    assert sent[0] == {
        "body": text_to_adf("Escalated to *Sarah*"),
        "properties": [{"key": "remedy", "value": {"marker": "escalate:CPE-3222:sarah"}}],
    }
    assert sent[1] == {"body": text_to_adf("no marker")}
    assert made.id == "10001" and made.body_text == "Escalated to *Sarah*"
    assert made.properties == {"remedy": {"marker": "escalate:CPE-3222:sarah"}}
    assert plain.properties == {}


def test_find_comment_pages_until_the_marker(jira: FakeJira) -> None:
    pages = {
        "0": comment_page([comment("1", "first"), comment("2", "other", marker="m-other")], 0, 5),
        "2": comment_page([comment("3", "third"), comment("4", "mine", marker="m-1")], 2, 5),
        "4": comment_page([comment("5", "last")], 4, 5),
    }
    jira.on("GET", "/issue/CPE-3222/comment", lambda request: pages[request.url.params["startAt"]])
    client = jira.client()

    found = client.find_comment("CPE-3222", "m-1")

    assert found is not None and (found.id, found.body_text) == ("4", "mine")
    assert [dict(r.url.params) for r in jira.requests] == [
        {"expand": "properties", "startAt": "0", "maxResults": "100"},
        {"expand": "properties", "startAt": "2", "maxResults": "100"},
    ]
    assert client.find_comment("CPE-3222", "m-missing") is None
    assert len(jira.requests) == 2 + 3  # the miss read every page, then stopped


def test_find_comment_stops_on_an_empty_page(jira: FakeJira) -> None:
    jira.on("GET", "/issue/CPE-3222/comment", comment_page([], 0, 0))
    assert jira.client().find_comment("CPE-3222", "m") is None
    assert len(jira.requests) == 1


def test_create_subtask_in_the_parents_project(jira: FakeJira) -> None:
    jira.on(
        "POST",
        "/issue",
        httpx.Response(201, json={"id": "10100", "key": "CPE-3500", "self": f"{BASE}{API}/issue/10100"}),
    )
    client = jira.client()

    key = client.create_subtask(
        "cpe-3222", "Pilot: Chrome 120 on ring 0", labels=["pilot"], description="See *runbook*"
    )
    client.create_subtask("CPE-3222", "Elsewhere", project_key="ops")

    first, second = (body(r)["fields"] for r in jira.sent("POST"))
    assert key == "CPE-3500"
    assert first == {
        "project": {"key": "CPE"}, "parent": {"key": "CPE-3222"}, "issuetype": {"name": "Sub-task"},
        "summary": "Pilot: Chrome 120 on ring 0", "labels": ["pilot"], "description": text_to_adf("See *runbook*"),
    }  # fmt: skip
    assert second["project"] == {"key": "OPS"} and "labels" not in second and "description" not in second


def test_link_means_blocker_blocks_blocked(jira: FakeJira) -> None:
    jira.on("POST", "/issueLink", httpx.Response(201))
    jira.client().link("CPE-3301", "cpe-3445")
    assert body(jira.requests[0]) == {
        "type": {"name": "Blocks"},
        "inwardIssue": {"key": "CPE-3301"},
        "outwardIssue": {"key": "CPE-3445"},
    }


def test_watchers_are_added_with_a_bare_json_string_and_listed(jira: FakeJira) -> None:
    jira.on("POST", "/issue/CPE-3222/watchers", no_content())
    jira.on("GET", "/issue/CPE-3222/watchers", httpx.Response(200, json={
        "isWatching": False, "self": f"{BASE}{API}/issue/CPE-3222/watchers", "watchCount": 2,
        "watchers": [user(SARAH, "Sarah Chen"), user("557058:alice", "Alice Martin")],
    }))  # fmt: skip
    client = jira.client()

    client.add_watcher("CPE-3222", SARAH)
    watching = client.watchers("CPE-3222")

    posted = jira.sent("POST")[0]
    assert posted.content == json.dumps(SARAH).encode() and posted.headers["Content-Type"] == "application/json"
    assert [w.display_name for w in watching] == ["Sarah Chen", "Alice Martin"]


def test_assign_and_unassign(jira: FakeJira) -> None:
    jira.on("PUT", "/issue/CPE-3222/assignee", no_content())
    client = jira.client()
    client.assign("CPE-3222", SARAH)
    client.assign("CPE-3222", None)
    assert [body(r) for r in jira.requests] == [{"accountId": SARAH}, {"accountId": None}]


def test_set_priority_edits_the_issue(jira: FakeJira) -> None:
    jira.on("PUT", "/issue/CPE-3222", no_content())
    jira.client().set_priority("CPE-3222", "Highest")
    assert body(jira.requests[0]) == {"fields": {"priority": {"name": "Highest"}}}


def test_get_issue_reads_subtasks_watches_and_resolution(jira: FakeJira) -> None:
    fields = {
        "summary": "Chrome 120 security update", "status": status("Done", "done"), "issuetype": {"name": "Task"},
        "created": "2026-11-10T08:42:00.000+0000", "updated": "2026-11-12T09:30:00.000+0000",
        "resolution": {"id": "10000", "name": "Done"}, "watches": {"isWatching": True, "watchCount": 3},
        "subtasks": [
            {"id": "10101", "key": "CPE-3223", "fields": {"summary": "Pilot", "status": status("Done", "done")}},
            {"id": "10102", "key": "CPE-3224",
             "fields": {"summary": "Rollout", "status": status("Rollout", "indeterminate")}},
        ],
    }  # fmt: skip
    jira.on("GET", "/issue/CPE-3222", httpx.Response(200, json={"id": "10010", "key": "CPE-3222", "fields": fields}))

    issue = jira.client().get_issue("CPE-3222")

    assert [(s.key, s.summary, s.status, s.done) for s in issue.subtasks] == [
        ("CPE-3223", "Pilot", "Done", True),
        ("CPE-3224", "Rollout", "Rollout", False),
    ]
    assert issue.subtask_keys == ["CPE-3223", "CPE-3224"]
    assert (issue.watch_count, issue.resolution, issue.is_done) == (3, "Done", True)
    assert {"watches", "resolution", "subtasks"} <= set(jira.requests[0].url.params["fields"].split(","))


def test_bulk_transition_polls_the_task_until_complete(jira: FakeJira) -> None:
    jira.on("POST", "/bulk/issues/transition", httpx.Response(201, json={"taskId": "10641"}))
    running = {
        "taskId": "10641",
        "status": "RUNNING",
        "progressPercent": 40,
        "submittedBy": {"accountId": "557058:bot"},
    }
    jira.on("GET", "/bulk/queue/10641", httpx.Response(200, json={**running, "status": "ENQUEUED"}),
            httpx.Response(200, json=running), httpx.Response(200, json={
                **running, "status": "COMPLETE", "progressPercent": 100, "processedAccessibleIssues": [10101, 10102],
                "failedAccessibleIssues": {"10103": ["Transition not available"]}, "totalIssueCount": 3,
            }))  # fmt: skip

    result = jira.client().bulk_transition(["CPE-3223", "cpe-3224", "CPE-3225", "CPE-3223"], "31", poll_every=0.5)

    assert body(jira.sent("POST")[0]) == {
        "bulkTransitionInputs": [{"selectedIssueIdsOrKeys": ["CPE-3223", "CPE-3224", "CPE-3225"], "transitionId": "31"}]
    }
    assert (result.task_id, result.done_ids, result.failed) == (
        "10641",
        ["10101", "10102"],
        {"10103": ["Transition not available"]},
    )
    assert jira.sleeps == [0.5, 0.5]


def test_bulk_transition_failure_timeout_and_nothing_to_do(jira: FakeJira) -> None:
    jira.on("POST", "/bulk/issues/transition", httpx.Response(201, json={"taskId": "7"}))
    jira.on("GET", "/bulk/queue/7", httpx.Response(200, json={"taskId": "7", "status": "FAILED"}))
    with pytest.raises(JiraError, match="bulk task 7 ended FAILED"):
        jira.client().bulk_transition(["CPE-1"], "31")

    jira.on("GET", "/bulk/queue/7", httpx.Response(200, json={"taskId": "7", "status": "RUNNING"}))
    with pytest.raises(JiraUnavailable, match="still running after 5 s"):
        jira.client().bulk_transition(["CPE-1"], "31", poll_every=1.0, timeout=5.0)
    assert sum(jira.sleeps) <= 5.0

    before = len(jira.requests)
    assert jira.client().bulk_transition([], "31").done_ids == []
    assert len(jira.requests) == before


# -- errors ------------------------------------------------------------------------------------


def test_field_errors_are_kept_and_explained(jira: FakeJira) -> None:
    jira.on("PUT", "/issue/CPE-3222", httpx.Response(400, json={
        "errorMessages": [], "errors": {"priority": "Priority name 'Urgent' is not valid"},
    }))  # fmt: skip
    with pytest.raises(JiraInvalid) as caught:
        jira.client().set_priority("CPE-3222", "Urgent")
    assert caught.value.field_errors == {"priority": "Priority name 'Urgent' is not valid"}
    assert str(caught.value) == "Jira refused: priority: Priority name 'Urgent' is not valid"


def test_bulk_error_lists_become_messages(jira: FakeJira) -> None:
    jira.on("POST", "/bulk/issues/transition", httpx.Response(400, json={
        "errors": [{"message": "Some of the issues in the issueIdsOrKeys are not valid"}]}))  # fmt: skip
    with pytest.raises(JiraInvalid, match="Jira refused: Some of the issues") as caught:
        jira.client().bulk_transition(["CPE-1"], "31")
    assert caught.value.messages == ["Some of the issues in the issueIdsOrKeys are not valid"]


def test_forbidden_names_the_action_and_the_issue(jira: FakeJira) -> None:
    refused = httpx.Response(403, json={"errorMessages": ["You do not have permission"], "errors": {}})
    for path in ("/issue/CPE-3222/comment", "/issue/CPE-3222/assignee", "/issue/CPE-3222/transitions"):
        jira.on("POST" if "assignee" not in path else "PUT", path, refused)
    client = jira.client()
    calls: list[tuple[Callable[[], object], str]] = [
        (lambda: client.add_comment("CPE-3222", "hi"), "comment on"),
        (lambda: client.assign("CPE-3222", SARAH), "assign"),
        (lambda: client.transition("CPE-3222", "31"), "transition"),
    ]
    for call, action in calls:
        with pytest.raises(JiraForbidden) as caught:
            call()
        assert str(caught.value) == f"No permission to {action} CPE-3222 in Jira"


def test_not_found_auth_and_secrets(jira: FakeJira) -> None:
    jira.on("GET", "/issue/CPE-9999/watchers", httpx.Response(404, json={
        "errorMessages": ["Issue does not exist or you do not have permission to see it."], "errors": {}}))  # fmt: skip
    jira.on("GET", "/myself", httpx.Response(401, text="Unauthorized"))
    client = jira.client()
    with pytest.raises(JiraNotFound, match=r"^CPE-9999 not found in Jira$"):
        client.watchers("CPE-9999")
    with pytest.raises(JiraAuthError) as caught:
        client.myself()
    assert TOKEN not in str(caught.value) and "Authorization" not in str(caught.value)
    assert jira.requests[-1].headers["Authorization"].startswith("Basic ")


def test_bad_keys_are_refused_before_sending(jira: FakeJira) -> None:
    client = jira.client()
    for call in (lambda: client.add_comment("chrome", "x"), lambda: client.link("CPE-1", "nope"),
                 lambda: client.bulk_transition(["CPE-1", "?"], "31")):  # fmt: skip
        with pytest.raises(JiraInvalid) as caught:
            call()
        assert caught.value.status is None
    assert jira.requests == []


def test_every_request_carries_the_timeout(jira: FakeJira) -> None:
    jira.on("GET", "/myself", httpx.Response(200, json=user("557058:bot", "Remedy Bot")))
    jira.on("POST", "/issue/CPE-1/watchers", no_content())
    client = jira.client(timeout=7.5)
    client.myself()
    client.add_watcher("CPE-1", SARAH)
    for request in jira.requests:
        assert request.extensions["timeout"] == {"connect": 3.0, "read": 7.5, "write": 7.5, "pool": 7.5}


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
