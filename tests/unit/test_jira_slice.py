"""The first Jira slice: seed data, the stateful simulator and the client, end to end.

Most tests run twice: over real HTTP (the simulator on 127.0.0.1, port 0) and in-process through
``httpx.WSGITransport``, so the client behaves the same whichever way it reaches the simulator.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

from remedy.jira import (
    JiraAuthError,
    JiraClient,
    JiraInvalid,
    JiraNotFound,
    JiraRateLimited,
    JiraUnavailable,
    adf_to_text,
    text_to_adf,
)
from remedy.sandbox import seed
from remedy.sandbox.jira import JiraState, create_app
from remedy.sandbox.server import serve

EMAIL, TOKEN = "remedy@example.com", "sandbox-jira-token"
SPEC = Path(__file__).parents[3] / "shared/specs/jira-cloud-platform-openapi-v3.json"


@dataclass
class Jira:
    """The simulator as one test sees it: its state, a base URL and (in-process) a transport."""

    state: JiraState
    url: str
    transport: httpx.BaseTransport | None
    _clients: list[JiraClient] = field(default_factory=list)

    def client(self, token: str = TOKEN, timeout: float = 10.0) -> JiraClient:
        # One try: these tests check how a single answer maps to the error family (retries are
        # covered in test_jira_client).
        made = JiraClient(self.url, EMAIL, token, transport=self.transport, timeout=timeout, max_tries=1)
        self._clients.append(made)
        return made

    def raw(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        with httpx.Client(base_url=self.url, transport=self.transport, auth=(EMAIL, TOKEN)) as http:
            return http.request(method, path, **kwargs)


@pytest.fixture(params=["http", "in-process"])
def jira(request: pytest.FixtureRequest) -> Iterator[Jira]:
    state = JiraState.seeded()
    app = create_app(state)
    if request.param == "http":
        with serve(app, state) as sim:
            yield from _closing(Jira(state, sim.url, None))
    else:
        yield from _closing(Jira(state, "http://jira.sandbox", httpx.WSGITransport(app=app)))


def _closing(view: Jira) -> Iterator[Jira]:
    yield view
    for made in view._clients:
        made.close()


@pytest.fixture
def served() -> Iterator[Jira]:
    """Real HTTP only: for failures that need a socket (timeouts, refused connections)."""
    state = JiraState.seeded()
    with serve(create_app(state), state) as sim, JiraClient(sim.url, EMAIL, TOKEN, timeout=0.2, max_tries=1) as client:
        view = Jira(state, sim.url, None, [client])
        yield view


def test_get_issue_reads_the_chrome_ticket(jira: Jira) -> None:
    issue = jira.client().get_issue("CPE-3222")

    assert issue.summary == "Chrome 120 security update"
    assert (issue.status, issue.status_category, issue.priority) == ("Pilot", "indeterminate", "High")
    assert issue.assignee is not None and issue.assignee.display_name == "Alice Martin"
    assert issue.labels == ["security", "chrome", "cve"]
    assert "*CVE-2023-6702* (type confusion in V8, CVSS 8.8)" in issue.description_text
    assert "- Target version: 120.0.6099.109" in issue.description_text
    assert issue.parent_key == "CPE-123"
    assert issue.subtask_keys == ["CPE-3223", "CPE-3224"]
    assert [c.author for c in issue.comments] == ["Alice Martin", "Alice Martin"]
    assert issue.comments[-1].body_text.startswith("Pilot started: Chrome 120.0.6099.109")
    assert "@Sarah Chen" in issue.comments[-1].body_text
    assert issue.created.isoformat() == "2026-11-10T08:42:00+00:00"
    assert str(issue.due_date) == "2026-11-30"


def test_links_read_from_both_ends(jira: Jira) -> None:
    client = jira.client()
    blocker, blocked = client.get_issue("CPE-3301"), client.get_issue("CPE-3445")

    assert [(link.phrase, link.other_key) for link in blocker.links] == [("blocks", "CPE-3445")]
    assert [(link.phrase, link.other_key, link.direction) for link in blocked.links] == [
        ("is blocked by", "CPE-3301", "inward")
    ]
    assert blocked.links[0].other_status == "Investigation"
    unassigned = client.get_issue("CPE-3224")
    assert unassigned.assignee is None and unassigned.issue_type == "Sub-task"


def test_keys_are_case_insensitive(jira: Jira) -> None:
    assert jira.client().get_issue(" cpe-3222 ").key == "CPE-3222"
    # The simulator itself resolves a lowercase key, as Jira does.
    response = jira.raw("GET", "/rest/api/3/issue/cpe-3222", params={"fields": "summary"})
    assert response.status_code == 200
    assert response.json()["key"] == "CPE-3222"
    assert response.json()["fields"] == {"summary": "Chrome 120 security update"}


def test_unknown_issue_is_not_found(jira: Jira) -> None:
    with pytest.raises(JiraNotFound) as caught:
        jira.client().get_issue("CPE-9999")
    assert str(caught.value) == "CPE-9999 not found in Jira"
    assert caught.value.status == 404
    body = jira.raw("GET", "/rest/api/3/issue/CPE-9999").json()
    assert body["errorMessages"] == ["Issue does not exist or you do not have permission to see it."]
    assert body["errors"] == {}


def test_malformed_key_is_refused_without_a_request(jira: Jira) -> None:
    with pytest.raises(JiraInvalid) as caught:
        jira.client().get_issue("chrome update")
    assert "not a Jira issue key" in str(caught.value) and caught.value.status is None
    assert jira.state.requests == []


def test_bad_token_is_an_auth_error_that_hides_the_token(jira: Jira) -> None:
    with pytest.raises(JiraAuthError) as caught:
        jira.client(token="wrong-secret-token").myself()
    assert caught.value.status == 401
    assert "wrong-secret-token" not in str(caught.value)
    with httpx.Client(base_url=jira.url, transport=jira.transport) as anonymous:
        response = anonymous.get("/rest/api/3/myself")
    assert response.status_code == 401 and response.json()["errorMessages"]


def test_injected_server_errors_are_unavailable(jira: Jira) -> None:
    client = jira.client()
    jira.state.fail_next(500)
    with pytest.raises(JiraUnavailable) as caught:
        client.get_issue("CPE-3222")
    assert caught.value.status == 500
    jira.state.fail_next(503)  # an HTML page from Atlassian's edge, not JSON
    with pytest.raises(JiraUnavailable, match=r"HTTP 503"):
        client.get_issue("CPE-3222")
    assert client.get_issue("CPE-3222").key == "CPE-3222"  # failures are used up


def test_injected_rate_limit_carries_retry_after(jira: Jira) -> None:
    jira.state.fail_next(429, retry_after=7, path_contains="/search/jql")
    client = jira.client()
    assert client.get_issue("CPE-3222").key == "CPE-3222"  # other paths are not affected
    with pytest.raises(JiraRateLimited) as caught:
        list(client.search("key = CPE-3222"))
    assert caught.value.retry_after == 7
    assert caught.value.status == 429


def test_refused_connection_is_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # The port is closed again: nothing listens there.
    client = JiraClient(f"http://127.0.0.1:{port}", EMAIL, TOKEN, max_tries=1)
    with client, pytest.raises(JiraUnavailable) as caught:
        client.myself()
    assert "unreachable" in str(caught.value) and TOKEN not in str(caught.value)


def test_slow_jira_times_out_as_unavailable(served: Jira) -> None:
    served.state.set_latency(0.5)
    with pytest.raises(JiraUnavailable) as caught:
        served._clients[0].get_issue("CPE-3222")
    assert str(caught.value) == "Jira is unreachable (timeout after 0.2 s)"


@pytest.mark.parametrize(
    ("error", "expected"),
    [(httpx.ReadTimeout("slow"), "timeout after 10 s"), (httpx.ConnectError("refused"), "could not connect")],
)
def test_transport_errors_map_to_unavailable(error: httpx.TransportError, expected: str) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise error

    client = JiraClient("http://jira.invalid", EMAIL, TOKEN, transport=httpx.MockTransport(fail), max_tries=1)
    with client, pytest.raises(JiraUnavailable, match=expected):
        client.server_info()


def test_search_follows_next_page_tokens(jira: Jira) -> None:
    keys = [issue.key for issue in jira.client().search("parent = CPE-123 ORDER BY key", max_results=1)]

    assert keys == ["CPE-3222", "CPE-3301", "CPE-3445"]
    searches = [r for r in jira.state.requests if r.path == "/rest/api/3/search/jql"]
    assert len(searches) == 3


def test_search_filters_combine_with_and(jira: Jira) -> None:
    client = jira.client()
    alice = seed.team()["alice"].account_id
    assert [i.key for i in client.search(f'project = CPE AND assignee = {alice} AND status = "Pilot"')] == [
        "CPE-3222"
    ]
    assert [i.key for i in client.search("labels in (vendor-wait, slack)", fields=["summary"])] == [
        "CPE-3301",
        "CPE-3445",
    ]
    assert [i.key for i in client.search("key in (cpe-3445, CPE-123)")] == ["CPE-123", "CPE-3445"]


UNSUPPORTED_JQL = {
    "status = Pilot OR status = Rollout": "does not support 'OR'",
    "summary ~ chrome": "cannot run",
    "colour = blue": "Field 'colour' does not exist",
    "status = Shipping": "The value 'Shipping' does not exist for the field 'status'.",
    "order by key": "Unbounded JQL queries are not allowed here",
}


def test_unsupported_jql_is_invalid(jira: Jira) -> None:
    client = jira.client()
    for jql, message in UNSUPPORTED_JQL.items():
        with pytest.raises(JiraInvalid) as caught:
            list(client.search(jql))
        assert caught.value.status == 400
        assert any(message in text for text in caught.value.messages), (jql, caught.value.messages)


def test_old_search_endpoint_is_gone(jira: Jira) -> None:
    response = jira.raw("GET", "/rest/api/3/search", params={"jql": "project = CPE"})
    assert response.status_code == 410
    assert "/rest/api/3/search/jql" in response.json()["errorMessages"][0]


def test_myself_server_info_and_user_search(jira: Jira) -> None:
    client = jira.client()
    me = client.myself()
    assert (me.display_name, me.email) == ("Remedy Bot", EMAIL)
    assert client.server_info()["deploymentType"] == "Cloud"
    found = jira.raw("GET", "/rest/api/3/user/search", params={"query": "JOHN"}).json()
    assert sorted(user["displayName"] for user in found) == ["John Doe", "John Smith"]
    by_email = jira.raw("GET", "/rest/api/3/user/search", params={"query": "sarah.chen@"}).json()
    assert [(user["displayName"], user["accountType"]) for user in by_email] == [("Sarah Chen", "atlassian")]


def test_adf_round_trip() -> None:
    text = "Pilot started on 25 Macs.\nNo crashes so far.\n\nNext: phase 1 on Monday."
    doc = text_to_adf(text)

    assert doc["type"] == "doc" and doc["version"] == 1
    assert [block["type"] for block in doc["content"]] == ["paragraph", "paragraph"]
    assert {"type": "hardBreak"} in doc["content"][0]["content"]
    assert adf_to_text(doc) == text
    assert text_to_adf("   ") == {"type": "doc", "version": 1, "content": []}


def test_adf_to_text_reads_rich_documents() -> None:
    doc = {"type": "doc", "version": 1, "content": [
        {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Status"}]},
        {"type": "paragraph", "content": [
            {"type": "mention", "attrs": {"id": "1", "text": "@Alice Martin"}},
            {"type": "text", "text": " see "},
            {"type": "text", "text": "the KB", "marks": [{"type": "link", "attrs": {"href": "https://kb"}}]},
            {"type": "hardBreak"}, {"type": "text", "text": "thanks", "marks": [{"type": "strong"}]},
        ]},
        {"type": "bulletList", "content": [{"type": "listItem", "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "one"}]},
            {"type": "orderedList", "content": [{"type": "listItem", "content": [
                {"type": "paragraph", "content": [{"type": "text", "text": "nested"}]},
            ]}]},
        ]}]},
        {"type": "codeBlock", "content": [{"type": "text", "text": "sudo jamf policy"}]},
        {"type": "someFutureNode", "content": [{"type": "text", "text": "kept"}]},
    ]}  # fmt: skip

    assert adf_to_text(doc) == (
        "Status\n\n@Alice Martin see [the KB](https://kb)\n*thanks*\n\n- one\n  1. nested\n\n"
        "```\nsudo jamf policy\n```\n\nkept"
    )
    assert adf_to_text(None) == "" and adf_to_text("plain v2 text") == "plain v2 text"


@pytest.fixture(scope="module")
def schemas() -> dict[str, Any]:
    if not SPEC.exists():
        pytest.skip(f"Jira OpenAPI spec not found at {SPEC} (shared/ is not beside this clone)")
    loaded: dict[str, Any] = json.loads(SPEC.read_text(encoding="utf-8"))["components"]["schemas"]
    return loaded


def test_issue_response_matches_the_spec_issue_bean(jira: Jira, schemas: dict[str, Any]) -> None:
    bean = schemas["IssueBean"]
    body = jira.raw("GET", "/rest/api/3/issue/CPE-3222").json()

    # IssueBean forbids additional properties: every top-level key must be one it declares.
    assert set(body) <= set(bean["properties"])
    for name in ("id", "key", "self", "fields"):
        assert name in body
        expected = bean["properties"][name]["type"]
        assert isinstance(body[name], {"string": str, "object": dict}[expected]), name
    assert urlparse(body["self"]).scheme in ("http", "https")
    assert body["self"].endswith(f"/rest/api/3/issue/{body['id']}")
    # People inside fields are UserDetails, which also forbids unknown properties.
    assert set(body["fields"]["assignee"]) <= set(schemas["UserDetails"]["properties"])
    error = jira.raw("GET", "/rest/api/3/issue/NOPE-1").json()
    assert set(error) <= set(schemas["ErrorCollection"]["properties"])
    page = jira.raw("POST", "/rest/api/3/search/jql", json={"jql": "project = CPE", "maxResults": 2}).json()
    assert set(page) <= set(schemas["SearchAndReconcileResults"]["properties"])


def test_seed_tells_one_consistent_story() -> None:
    records = {issue.key: issue for issue in seed.issues()}

    assert set(seed.REMEDIATION_FACTS) <= set(records)
    assert seed.REMEDIATION_FACTS["CPE-3222"].bundle_id == "com.google.Chrome"
    assert all(issue.updated <= seed.NOW and issue.created <= issue.updated for issue in records.values())
    assert all(seed.status(issue.status) for issue in records.values())
    assert (seed.NOW.date() - records["CPE-3301"].comments[-1].created.date()).days == 3
    slack_due = records["CPE-3445"].due_date
    assert slack_due is not None and (slack_due - seed.NOW.date()).days == 2
    assert seed.issues()[0] is not seed.issues()[0]  # fresh records: callers may mutate theirs
