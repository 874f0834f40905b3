"""The Jira simulator's write endpoints (and the reads that go with them), spoken to with plain httpx:
each endpoint's happy path, the errors Jira answers, and the state tests read afterwards."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from remedy.sandbox import seed
from remedy.sandbox.jira import JiraState, create_app
from remedy.sandbox.server import serve

API = "/rest/api/3"
AUTH = ("remedy@example.com", "sandbox-jira-token")
ALICE, SARAH = seed.team()["alice"].account_id, seed.team()["sarah"].account_id
LATER = datetime(2026, 11, 26, 14, 30, tzinfo=UTC)


def doc(text: str) -> dict[str, Any]:
    paragraph = {"type": "paragraph", "content": [{"type": "text", "text": text}]}
    return {"type": "doc", "version": 1, "content": [paragraph]}


class Jira:
    """The simulator in-process: its state and an authenticated client."""

    def __init__(self) -> None:
        self.state = JiraState.seeded()
        transport = httpx.WSGITransport(app=create_app(self.state))
        self.http = httpx.Client(base_url="http://jira.sandbox", transport=transport, auth=AUTH)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(f"{API}{path}", **kwargs)

    def send(self, method: str, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        content = None if body is None else json.dumps(body)
        headers = {"Content-Type": "application/json"}
        return self.http.request(method, f"{API}{path}", content=content, headers=headers, **kwargs)

    def fields(self, key: str, *names: str) -> dict[str, Any]:
        fields: dict[str, Any] = self.get(f"/issue/{key}", params={"fields": ",".join(names)}).json()["fields"]
        return fields


@pytest.fixture
def jira() -> Iterator[Jira]:
    sim = Jira()
    sim.state.clock = lambda: LATER  # injectable: every write stamps "updated" from it
    yield sim
    sim.http.close()


def assert_error(response: httpx.Response, status: int, messages: list[str], errors: dict[str, str]) -> None:
    assert response.status_code == status, response.text
    assert response.json() == {"errorMessages": messages, "errors": errors}


# -- transitions -----------------------------------------------------------------------------------
def test_transitions_list_only_the_moves_allowed_now(jira: Jira) -> None:
    listed = jira.get("/issue/CPE-3222/transitions").json()["transitions"]  # CPE-3222 is in Pilot

    assert [(t["id"], t["name"], t["to"]["name"]) for t in listed] == [
        ("51", "Roll out", "Rollout"), ("111", "Back to Build & Test", "Build & Test")]  # fmt: skip
    assert listed[0]["to"]["statusCategory"]["key"] == "indeterminate"
    assert {k: listed[0][k] for k in ("hasScreen", "isGlobal", "isInitial", "isConditional")} == dict.fromkeys(
        ("hasScreen", "isGlobal", "isInitial", "isConditional"), False)  # fmt: skip
    assert jira.get("/issue/CPE-3222/transitions", params={"transitionId": "51"}).json()["transitions"][0]["id"] == "51"


def test_transition_moves_the_issue_and_refuses_moves_not_allowed_now(jira: Jira) -> None:
    assert jira.send("POST", "/issue/CPE-3222/transitions", {"transition": {"id": "51"}}).status_code == 204
    assert jira.state.status_of("CPE-3222") == "Rollout"
    assert jira.fields("CPE-3222", "updated")["updated"] == "2026-11-26T14:30:00.000+0000"

    refused = jira.send("POST", "/issue/CPE-3222/transitions", {"transition": {"id": "51"}})
    assert_error(refused, 400, ["Transition id '51' is not valid for this issue."], {})
    assert jira.state.status_of("CPE-3222") == "Rollout"
    assert jira.send("POST", "/issue/CPE-3222/transitions", {"transition": {}}).status_code == 400


def test_the_whole_workflow_forward_then_reopened(jira: Jira) -> None:
    names = []
    for _ in range(7):  # CPE-3224 starts in To Do
        forward = jira.get("/issue/CPE-3224/transitions").json()["transitions"][0]
        names.append(forward["name"])
        moved = jira.send("POST", "/issue/CPE-3224/transitions", {"transition": {"id": forward["id"]}})
        assert moved.status_code == 204
    assert names == ["Start investigation", "Plan", "Build & test", "Start pilot", "Roll out", "Verify", "Done"]
    done = jira.fields("CPE-3224", "status", "resolution", "resolutiondate")
    assert (done["status"]["name"], done["resolution"]["name"]) == ("Done", "Done")
    assert done["resolutiondate"] == "2026-11-26T14:30:00.000+0000"

    assert jira.send("POST", "/issue/CPE-3224/transitions", {"transition": {"id": "141"}}).status_code == 204
    reopened = jira.fields("CPE-3224", "status", "resolution", "resolutiondate")
    assert (reopened["status"]["name"], reopened["resolution"], reopened["resolutiondate"]) == ("Verify", None, None)


# -- comments --------------------------------------------------------------------------------------
def test_comment_is_created_and_its_properties_round_trip(jira: Jira) -> None:
    marker = [{"key": "remedy.marker", "value": {"marker": "escalate:CPE-3222:sarah"}}]
    created = jira.send("POST", "/issue/CPE-3222/comment", {"body": doc("Escalated to Sarah"), "properties": marker})

    assert created.status_code == 201
    body = created.json()
    assert body["body"] == doc("Escalated to Sarah") and body["author"]["displayName"] == "Remedy Bot"
    assert body["self"].endswith(f"/rest/api/3/issue/13222/comment/{body['id']}") and "properties" not in body
    page = jira.get("/issue/CPE-3222/comment", params={"expand": "properties"}).json()
    assert (page["startAt"], page["total"], len(page["comments"])) == (0, 3, 3)
    assert page["comments"][-1]["properties"] == marker and page["comments"][0]["properties"] == []
    assert "properties" not in jira.get("/issue/CPE-3222/comment").json()["comments"][-1]
    last = jira.state.comments("CPE-3222")[-1]
    assert (last["text"], last["properties"]) == ("Escalated to Sarah", {"remedy.marker": marker[0]["value"]})


def test_comments_page_and_order(jira: Jira) -> None:
    jira.send("POST", "/issue/CPE-3222/comment", {"body": doc("third")})
    newest = jira.get("/issue/CPE-3222/comment", params={"orderBy": "-created", "maxResults": 1}).json()
    second = jira.get("/issue/CPE-3222/comment", params={"startAt": 1, "maxResults": 1}).json()

    assert [c["body"] for c in newest["comments"]] == [doc("third")] and newest["total"] == 3
    assert [c["id"] for c in second["comments"]] == ["20102"] and second["maxResults"] == 1
    assert jira.get("/issue/CPE-3222/comment", params={"orderBy": "author"}).status_code == 400


@pytest.mark.parametrize("body", ["Escalated to Sarah", {"type": "paragraph"}, {**doc("x"), "version": 2}])
def test_a_comment_that_is_not_adf_is_refused(jira: Jira, body: Any) -> None:
    refused = jira.send("POST", "/issue/CPE-3222/comment", {"body": body})

    assert_error(refused, 400, [], {"comment": "Comment body is not valid!"})
    assert len(jira.state.comments("CPE-3222")) == 2
    empty = jira.send("POST", "/issue/CPE-3222/comment", {"body": {"type": "doc", "version": 1, "content": []}})
    assert_error(empty, 400, [], {"comment": "Comment body can not be empty!"})


# -- create and edit -------------------------------------------------------------------------------
def subtask(parent: str = "CPE-3222", summary: str | None = "Pilot feedback survey", **extra: Any) -> dict[str, Any]:
    fields = {"project": {"key": "CPE"}, "parent": {"key": parent}, "issuetype": {"name": "Sub-task"}, **extra}
    return {"fields": {**fields, "summary": summary} if summary is not None else fields}


def test_subtasks_continue_the_numbering_and_appear_on_the_parent(jira: Jira) -> None:
    first = jira.send("POST", "/issue", subtask(labels=["pilot"], description=doc("Ask the pilot ring")))
    second = jira.send("POST", "/issue", subtask(summary="Phase 1 scope", issuetype={"id": "10003"}))

    assert first.status_code == 201 and second.status_code == 201
    assert (first.json()["key"], second.json()["key"]) == ("CPE-3446", "CPE-3447")
    assert first.json()["self"].endswith(f"/rest/api/3/issue/{first.json()['id']}")
    assert [s.key for s in jira.state.subtasks("CPE-3222")] == ["CPE-3223", "CPE-3224", "CPE-3446", "CPE-3447"]
    assert [s["key"] for s in jira.fields("CPE-3222", "subtasks")["subtasks"]][-2:] == ["CPE-3446", "CPE-3447"]
    created = jira.fields("CPE-3446", "status", "labels", "parent", "reporter", "issuetype")
    assert (created["status"]["name"], created["labels"], created["parent"]["key"]) == ("To Do", ["pilot"], "CPE-3222")
    assert (created["reporter"]["displayName"], created["issuetype"]["subtask"]) == ("Remedy Bot", True)


def test_create_reports_every_bad_field_at_once(jira: Jira) -> None:
    missing = jira.send("POST", "/issue", subtask(summary=None))
    assert_error(missing, 400, [], {"summary": "You must specify a summary of the issue."})
    nested = jira.send("POST", "/issue", subtask(parent="CPE-3223", colour="red"))  # CPE-3223 is a sub-task
    assert_error(nested, 400, [], {
        "parent": "Given parent issue does not belong to appropriate hierarchy.",
        "colour": "Field 'colour' cannot be set. It is not on the appropriate screen, or unknown."})  # fmt: skip
    unknown = jira.send("POST", "/issue", subtask(parent="CPE-9999", description="plain text"))
    assert unknown.json()["errors"] == {"parent": "Could not find issue by id or key.",
                                        "description": "Operation value must be an Atlassian Document "
                                                       "(see the Atlassian Document Format)"}  # fmt: skip
    orphan = jira.send("POST", "/issue", {"fields": {**subtask()["fields"], "parent": None}})
    assert orphan.json()["errors"] == {"parentId": "Issue type is a sub-task but parent issue key or id not specified."}
    assert len(jira.state.issues) == 6


def test_edit_sets_fields_and_applies_label_operations(jira: Jira) -> None:
    sent = {"priority": {"name": "Highest"}, "duedate": "2026-12-02", "summary": "Chrome 120 update"}
    update = {"labels": [{"add": "escalated"}, {"remove": "cve"}]}
    edited = jira.send("PUT", "/issue/CPE-3222", {"fields": sent, "update": update})

    assert edited.status_code == 204 and edited.content == b""
    fields = jira.fields("CPE-3222", "priority", "duedate", "summary", "labels", "updated")
    assert (fields["priority"]["name"], fields["duedate"]) == ("Highest", "2026-12-02")
    assert fields["summary"] == "Chrome 120 update"
    assert fields["labels"] == ["security", "chrome", "escalated"]
    assert fields["updated"] == "2026-11-26T14:30:00.000+0000"
    assert jira.send("PUT", "/issue/CPE-3222", {"fields": {"priority": {"id": "4"}}}).status_code == 204
    assert jira.state.priority_of("CPE-3222") == "Low"


def test_edit_refuses_unknown_priorities_and_fields_without_changing_anything(jira: Jira) -> None:
    refused = jira.send("PUT", "/issue/CPE-3222", {"fields": {"priority": {"name": "Urgent"}, "summary": "changed"}})
    assert_error(refused, 400, [], {"priority": "The priority selected is invalid."})
    assert jira.state.issues["CPE-3222"].summary == "Chrome 120 security update"
    unknown = jira.send("PUT", "/issue/CPE-3222", {"fields": {"resolution": {"name": "Done"}}})
    assert_error(unknown, 400, [], {"resolution": "Field 'resolution' cannot be set. It is not on the appropriate "
                                                  "screen, or unknown."})  # fmt: skip
    assert jira.send("PUT", "/issue/CPE-3222", {"fields": {"labels": ["a b"]}}).status_code == 400


def test_priorities_are_jiras_defaults(jira: Jira) -> None:
    listed = jira.get("/priority").json()

    assert [(p["id"], p["name"]) for p in listed] == [("1", "Highest"), ("2", "High"), ("3", "Medium"), ("4", "Low"),
                                                      ("5", "Lowest")]  # fmt: skip
    assert all(p["iconUrl"] and p["statusColor"].startswith("#") and p["description"] and p["self"] for p in listed)


# -- assignee and watchers -------------------------------------------------------------------------
def test_assign_unassign_and_unknown_people(jira: Jira) -> None:
    assert jira.send("PUT", "/issue/CPE-3224/assignee", {"accountId": ALICE}).status_code == 204
    assert jira.state.assignee_of("CPE-3224") == ALICE and ALICE in jira.state.watchers("CPE-3224")
    assert jira.send("PUT", "/issue/CPE-3224/assignee", {"accountId": None}).status_code == 204
    assert jira.state.assignee_of("CPE-3224") is None

    refused = jira.send("PUT", "/issue/CPE-3224/assignee", {"accountId": "557058:nobody"})
    assert_error(refused, 400, [], {"assignee": "User '557058:nobody' cannot be assigned issues."})


def test_watchers_take_a_bare_json_string_and_are_idempotent(jira: Jira) -> None:
    before = jira.get("/issue/CPE-3301/watchers").json()
    for _ in range(2):
        assert jira.send("POST", "/issue/CPE-3301/watchers", ALICE).status_code == 204

    after = jira.get("/issue/CPE-3301/watchers").json()
    assert after["watchCount"] == before["watchCount"] + 1 and after["watchers"][-1]["accountId"] == ALICE
    assert jira.send("DELETE", "/issue/CPE-3301/watchers", params={"accountId": ALICE}).status_code == 204
    assert ALICE not in jira.state.watchers("CPE-3301")
    assert jira.send("POST", "/issue/CPE-3301/watchers", {"accountId": ALICE}).status_code == 400
    assert jira.send("POST", "/issue/CPE-3301/watchers", "557058:nobody").status_code == 404
    assert jira.send("DELETE", "/issue/CPE-3301/watchers").status_code == 400


# -- links -----------------------------------------------------------------------------------------
BLOCKS = {"type": {"name": "Blocks"}, "inwardIssue": {"key": "CPE-3224"}, "outwardIssue": {"key": "CPE-3222"}}


def test_a_link_reads_the_same_way_from_both_issues(jira: Jira) -> None:
    created = jira.send("POST", "/issueLink", BLOCKS)  # CPE-3224 blocks CPE-3222

    assert created.status_code == 201 and created.content == b""
    assert jira.state.links_of("CPE-3224") == [("blocks", "CPE-3222")]
    assert jira.state.links_of("CPE-3222") == [("is blocked by", "CPE-3224")]
    blocker = jira.fields("CPE-3224", "issuelinks")["issuelinks"][0]
    blocked = jira.fields("CPE-3222", "issuelinks")["issuelinks"][0]
    assert (blocker["outwardIssue"]["key"], blocker["type"]["outward"]) == ("CPE-3222", "blocks")
    assert (blocked["inwardIssue"]["key"], blocked["type"]["inward"]) == ("CPE-3224", "is blocked by")
    seed_link = jira.fields("CPE-3301", "issuelinks")["issuelinks"][0]  # the same convention as the seed
    assert "outwardIssue" in seed_link and seed_link["outwardIssue"]["key"] == "CPE-3445"
    assert jira.fields("CPE-3222", "updated")["updated"] == "2026-11-26T14:30:00.000+0000"


def test_duplicate_links_self_links_and_unknown_types(jira: Jira) -> None:
    assert jira.send("POST", "/issueLink", BLOCKS).status_code == 201
    assert jira.send("POST", "/issueLink", BLOCKS).status_code == 201  # as Jira: "created", but only once
    assert len(jira.state.links) == 2

    self_link = jira.send("POST", "/issueLink", {**BLOCKS, "outwardIssue": {"key": "CPE-3224"}})
    assert_error(self_link, 400, ["You cannot link an issue to itself."], {})
    assert jira.send("POST", "/issueLink", {**BLOCKS, "type": {"name": "Causes"}}).status_code == 404
    assert jira.send("POST", "/issueLink", {**BLOCKS, "inwardIssue": {"key": "CPE-9999"}}).status_code == 404


def test_get_and_delete_a_link(jira: Jira) -> None:
    shown = jira.get("/issueLink/30001").json()

    assert (shown["inwardIssue"]["key"], shown["outwardIssue"]["key"], shown["type"]["name"]) == (
        "CPE-3301", "CPE-3445", "Blocks")  # fmt: skip
    assert jira.send("DELETE", "/issueLink/30001").status_code == 204
    assert jira.state.links_of("CPE-3445") == []
    assert jira.get("/issueLink/30001").status_code == 404
    assert jira.get("/issueLink/abc").status_code == 400
    assert [t["name"] for t in jira.get("/issueLinkType").json()["issueLinkTypes"]] == [
        "Blocks", "Cloners", "Duplicate", "Relates"]  # fmt: skip


# -- bulk ------------------------------------------------------------------------------------------
def test_bulk_transition_runs_as_a_task_the_client_must_poll(jira: Jira) -> None:
    inputs = [{"selectedIssueIdsOrKeys": ["CPE-3445", "CPE-123", "13301"], "transitionId": "61"}]
    submitted = jira.send("POST", "/bulk/issues/transition", {"bulkTransitionInputs": inputs,
                                                             "sendBulkNotification": False})  # fmt: skip
    assert submitted.status_code == 201
    task = submitted.json()["taskId"]

    first = jira.get(f"/bulk/queue/{task}").json()
    second = jira.get(f"/bulk/queue/{task}").json()
    assert (first["status"], first["progressPercent"]) == ("RUNNING", 0)
    assert (second["status"], second["progressPercent"], second["totalIssueCount"]) == ("COMPLETE", 100, 3)
    assert second["processedAccessibleIssues"] == [13445, 10123]
    assert second["failedAccessibleIssues"] == {"13301": ["Transition id '61' is not valid for this issue."]}
    assert (jira.state.status_of("CPE-3445"), jira.state.status_of("CPE-3301")) == ("Verify", "Investigation")
    bad = jira.send("POST", "/bulk/issues/transition", {"bulkTransitionInputs": [
        {"selectedIssueIdsOrKeys": ["CPE-9999"], "transitionId": "61"}]})  # fmt: skip
    assert bad.status_code == 400
    assert bad.json() == {"errors": [{"message": "Some of the issues in the issueIdsOrKeys are not valid"}]}


# -- search ----------------------------------------------------------------------------------------
def keys(jira: Jira, jql: str) -> list[str]:
    response = jira.send("POST", "/search/jql", {"jql": jql, "fields": ["key"]})
    assert response.status_code == 200, response.text
    return [issue["key"] for issue in response.json()["issues"]]


def test_jql_by_updated_status_in_and_order_by_updated(jira: Jira) -> None:
    assert keys(jira, 'updated >= "2026-11-24" ORDER BY updated DESC') == ["CPE-123", "CPE-3445", "CPE-3222",
                                                                           "CPE-3223"]  # fmt: skip
    assert keys(jira, "updated >= -2d AND status in (Pilot, Done)") == ["CPE-3222", "CPE-3223"]  # now is LATER
    jira.send("POST", "/issue/CPE-3301/comment", {"body": doc("Zoom replied")})  # stamped LATER
    assert keys(jira, "project = CPE AND updated >= -1h ORDER BY updated DESC") == ["CPE-3301"]
    assert keys(jira, 'updated < "2026-11-20 00:00" ORDER BY key') == ["CPE-3224"]
    bad = jira.send("POST", "/search/jql", {"jql": "updated >= yesterday"})
    assert bad.status_code == 400 and "Date value 'yesterday' for field 'updated' is invalid" in bad.text


# -- permissions, errors and failure injection -----------------------------------------------------
def test_forbidden_issue_refuses_writes_the_way_jira_does(jira: Jira) -> None:
    jira.state.forbid("CPE-3222")

    assert jira.send("PUT", "/issue/CPE-3222", {"fields": {"summary": "x"}}).status_code == 403
    comment = jira.send("POST", "/issue/CPE-3222/comment", {"body": doc("x")})
    assert_error(comment, 403, ["You do not have the permission to comment on this issue."], {})
    assert jira.send("PUT", "/issue/CPE-3222/assignee", {"accountId": ALICE}).status_code == 403
    assert jira.send("POST", "/issue/CPE-3222/watchers", ALICE).status_code == 403
    assert jira.send("POST", "/issue", subtask()).status_code == 403
    # The spec documents these refusals differently: transitions 400, links 404.
    assert jira.send("POST", "/issue/CPE-3222/transitions", {"transition": {"id": "51"}}).status_code == 400
    assert jira.get("/issue/CPE-3222/transitions").json()["transitions"] == []
    assert jira.send("POST", "/issueLink", BLOCKS).status_code == 404
    assert jira.get("/issue/CPE-3222").status_code == 200 and jira.state.status_of("CPE-3222") == "Pilot"
    jira.state.forbid("CPE-3222", {"GET"})
    assert jira.get("/issue/CPE-3222").status_code == 404
    jira.state.allow("CPE-3222")
    assert jira.send("PUT", "/issue/CPE-3222", {"fields": {"summary": "x"}}).status_code == 204


@pytest.mark.parametrize(("method", "path", "body"), [
    ("PUT", "/issue/CPE-9999", {"fields": {"summary": "x"}}),
    ("POST", "/issue/CPE-9999/transitions", {"transition": {"id": "11"}}),
    ("POST", "/issue/CPE-9999/comment", {"body": doc("x")}), ("GET", "/issue/CPE-9999/comment", None),
    ("PUT", "/issue/CPE-9999/assignee", {"accountId": ALICE}), ("GET", "/issue/CPE-9999/watchers", None),
    ("POST", "/issue/CPE-9999/watchers", ALICE), ("GET", "/issue/CPE-9999/transitions", None),
])  # fmt: skip
def test_unknown_issue_is_404_everywhere(jira: Jira, method: str, path: str, body: Any) -> None:
    missing = ["Issue does not exist or you do not have permission to see it."]
    assert_error(jira.send(method, path, body), 404, missing, {})


def test_bad_credentials_are_401_on_writes(jira: Jira) -> None:
    wrong = ("remedy@example.com", "not-the-token")
    refused = jira.http.post(f"{API}/issue/CPE-3222/comment", json={"body": doc("x")}, auth=wrong)
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Basic")
    assert len(jira.state.comments("CPE-3222")) == 2


def test_injected_rate_limit_hits_writes_and_is_recorded(jira: Jira) -> None:
    jira.state.fail_next(429, times=2, retry_after=3, path_contains="/comment")
    for _ in range(2):
        limited = jira.send("POST", "/issue/CPE-3222/comment", {"body": doc("x")})
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "3"
    assert jira.send("POST", "/issue/CPE-3222/transitions", {"transition": {"id": "51"}}).status_code == 204
    assert jira.send("POST", "/issue/CPE-3222/comment", {"body": doc("x")}).status_code == 201

    writes = jira.state.writes("CPE-3222")
    assert [(w.path.rsplit("/", 1)[-1], w.status) for w in writes] == [
        ("comment", 429), ("comment", 429), ("transitions", 204), ("comment", 201)]  # fmt: skip
    assert writes[-1].body == {"body": doc("x")} and all(a.at <= b.at for a, b in itertools.pairwise(writes))
    assert jira.state.writes("CPE-3445") == []


def test_latency_applies_over_real_http() -> None:
    state = JiraState.seeded()
    with serve(create_app(state), state) as sim, httpx.Client(base_url=sim.url, auth=AUTH) as client:
        state.set_latency(0.2)
        started = time.monotonic()
        response = client.post(f"{API}/issue/CPE-3222/transitions", json={"transition": {"id": "51"}})
        elapsed = time.monotonic() - started
    assert response.status_code == 204 and elapsed >= 0.2
    assert state.status_of("CPE-3222") == "Rollout"
