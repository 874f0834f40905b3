"""JiraClient against Jira Cloud as documented: request shapes, parsing, errors, retries, pacing.

``FakeJira`` answers through ``httpx.MockTransport`` with bodies shaped like the OpenAPI spec's
examples (User, Comment, PageOfComments, Transitions, CreatedIssue, BulkOperationProgress …) and
records every request, so each test can check exactly what would have gone over the wire.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from remedy.jira import (
    JiraAuthError,
    JiraError,
    JiraForbidden,
    JiraInvalid,
    JiraNotFound,
    JiraUnavailable,
    text_to_adf,
)
from tests.jira_fake import (
    API,
    BASE,
    SARAH,
    TOKEN,
    FakeJira,
    body,
    comment,
    comment_page,
    no_content,
    status,
    user,
)


@pytest.fixture
def jira() -> FakeJira:
    return FakeJira()

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
