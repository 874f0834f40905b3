"""File uploads the audit report builds on: `Poster.upload` (Slack files_upload_v2) through the Slack
simulator, and `JiraClient.add_attachment` / `attachments` through the Jira simulator, whose endpoint is
checked against Jira Cloud's OpenAPI spec."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from remedy.jira import JiraClient, JiraForbidden, JiraUnavailable
from remedy.sandbox.jira import JiraState, create_app
from remedy.sandbox.run import HOME_CHANNEL
from remedy.slack.poster import SlackPostError
from remedy_cli.embedded import Runtime
from tests.unit.test_jira_spec import SPEC, OpenApiValidator

REPORT = b"# CPE-3222 audit report\n\n| Ring | Compliant |\n|---|---|\n| Pilot | 96% |\n"
AUTH = ("remedy@example.com", "sandbox-jira-token")


# -- Slack ------------------------------------------------------------------------------------------
def test_an_upload_lands_in_the_thread_once_per_key(runtime: Runtime) -> None:
    poster, slack = runtime.services.poster, runtime.sandbox.slack_state
    home = poster.home_thread(HOME_CHANNEL, "CPE-3222", "CPE-3222 status")
    first = poster.upload(HOME_CHANNEL, home, "CPE-3222-audit.md", REPORT, "Audit report", "job9:audit-upload")
    again = poster.upload(HOME_CHANNEL, home, "CPE-3222-audit.md", REPORT, "Audit report", "job9:audit-upload")
    assert first == again
    shared = [m for m in slack.replies(HOME_CHANNEL, home) if m.files]
    assert [m.files for m in shared] == [[first]]
    upload = slack.files[first]
    assert (upload.filename, upload.title, upload.content) == ("CPE-3222-audit.md", "Audit report", REPORT)
    assert (upload.completed, upload.channel, upload.thread_ts) == (True, HOME_CHANNEL, home)
    assert len(slack.calls("files.completeUploadExternal")) == 1

    other = poster.upload(HOME_CHANNEL, home, "CPE-3222-audit.md", REPORT, "Audit report", "job10:audit-upload")
    assert other != first and len([m for m in slack.replies(HOME_CHANNEL, home) if m.files]) == 2


def test_an_upload_to_a_channel_slack_refuses_says_so(runtime: Runtime) -> None:
    with pytest.raises(SlackPostError) as refused:
        runtime.services.poster.upload("C0NOSUCH", None, "a.md", b"x", "A", "job11:upload")
    assert refused.value.error == "channel_not_found"


# -- Jira -------------------------------------------------------------------------------------------
class Meddling(httpx.BaseTransport):
    """The simulator in-process, with what a network can do to a request: drop a header on the way
    there, or lose the answer to a POST that was carried out (a 502 from the edge)."""

    def __init__(self, state: JiraState) -> None:
        self.inner = httpx.WSGITransport(app=create_app(state))
        self.strip: tuple[str, ...] = ()
        self.lose_posts = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        for name in self.strip:
            request.headers.pop(name, None)
        response = self.inner.handle_request(request)
        if request.method == "POST" and self.lose_posts:
            self.lose_posts -= 1
            response.read()
            page = "<html><body>Bad Gateway</body></html>"
            return httpx.Response(502, text=page, headers={"Content-Type": "text/html"})
        return response


Sim = tuple[JiraState, Meddling, JiraClient]


@pytest.fixture
def jira() -> Iterator[Sim]:
    state = JiraState.seeded()
    transport = Meddling(state)
    client = JiraClient("https://jira.sandbox", *AUTH, transport=transport, sleep=lambda _: None)
    yield state, transport, client
    client.close()


def test_an_attachment_lands_once_and_is_listed(jira: Sim) -> None:
    state, _, client = jira
    assert client.attachments("CPE-3222") == []
    attached = client.add_attachment("cpe-3222", "CPE-3222-audit.md", REPORT)
    assert (attached.filename, attached.size) == ("CPE-3222-audit.md", len(REPORT))
    (stored,) = state.attachments_of("CPE-3222")
    assert (stored.id, stored.content, stored.mime_type) == (attached.id, REPORT, "text/markdown")
    assert client.attachments("CPE-3222") == [attached]
    posts = [r for r in state.writes("CPE-3222") if r.path.endswith("/attachments")]
    assert [r.status for r in posts] == [200]


def test_a_lost_answer_is_not_uploaded_twice(jira: Sim) -> None:
    state, transport, client = jira
    transport.lose_posts = 1  # Jira stored the file, the answer never came back
    attached = client.add_attachment("CPE-3222", "CPE-3222-audit.md", REPORT)
    assert [a.id for a in state.attachments_of("CPE-3222")] == [attached.id]

    state.fail_next(503, path_contains="/attachments")  # refused before doing anything: safe to resend
    again = client.add_attachment("CPE-3222", "CPE-3222-audit-2.md", REPORT)
    assert [a.filename for a in client.attachments("CPE-3222")] == ["CPE-3222-audit.md", again.filename]


def test_a_lost_answer_for_an_upload_that_never_landed_is_an_error(jira: Sim) -> None:
    state, _, client = jira
    state.fail_next(502, path_contains="/attachments")  # the edge failed: nothing reached Jira
    with pytest.raises(JiraUnavailable):
        client.add_attachment("CPE-3222", "CPE-3222-audit.md", REPORT)
    assert state.attachments_of("CPE-3222") == []


def test_without_the_xsrf_header_jira_blocks_the_upload(jira: Sim) -> None:
    state, transport, client = jira
    transport.strip = ("X-Atlassian-Token",)
    with pytest.raises(JiraForbidden) as blocked:
        client.add_attachment("CPE-3222", "CPE-3222-audit.md", REPORT)
    assert "XSRF check failed" in str(blocked.value) and "X-Atlassian-Token" in str(blocked.value)
    assert state.attachments_of("CPE-3222") == []


def test_attachment_refusals(jira: Sim) -> None:
    state, _, client = jira
    with pytest.raises(Exception, match="CPE-9999 not found"):
        client.add_attachment("CPE-9999", "a.md", b"x")
    state.forbid("CPE-3222", ["POST"])
    with pytest.raises(JiraForbidden, match="attach files to CPE-3222"):
        client.add_attachment("CPE-3222", "a.md", b"x")


# -- the simulator against the spec -----------------------------------------------------------------
@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    if not SPEC.exists():
        pytest.skip(f"Jira OpenAPI spec not found at {SPEC}")
    loaded: dict[str, Any] = json.loads(Path(SPEC).read_text(encoding="utf-8"))
    return loaded


def test_the_attachments_endpoint_answers_as_the_spec_says(spec: dict[str, Any]) -> None:
    operation = spec["paths"]["/rest/api/3/issue/{issueIdOrKey}/attachments"]["post"]
    assert "multipart/form-data" in operation["requestBody"]["content"]
    validator, state = OpenApiValidator(spec), JiraState.seeded()
    http = httpx.Client(base_url="https://jira.sandbox", transport=httpx.WSGITransport(app=create_app(state)),
                        auth=AUTH, headers={"X-Atlassian-Token": "no-check"})
    files = [("file", ("a.md", b"# a\n", "text/markdown")), ("file", ("b.csv", b"serial\nC02X\n", "text/csv"))]
    answer = http.post("/rest/api/3/issue/CPE-3222/attachments", files=files)
    assert answer.status_code == 200 and "200" in operation["responses"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert validator.errors(answer.json(), schema, "response") == []
    assert [a["filename"] for a in answer.json()] == ["a.md", "b.csv"]
    listed = http.get("/rest/api/3/issue/CPE-3222", params={"fields": "attachment"}).json()["fields"]["attachment"]
    assert listed == answer.json()
    for status, path in ((404, "CPE-9999"), (403, "CPE-3222")):
        if status == 403:
            state.forbid("CPE-3222", ["POST"])
        refused = http.post(f"/rest/api/3/issue/{path}/attachments", files=files[:1])
        assert refused.status_code == status and str(status) in operation["responses"]
    nothing = http.post("/rest/api/3/issue/CPE-3445/attachments", files=[("upload", ("a.md", b"x", "text/plain"))])
    assert (nothing.status_code, nothing.json()) == (200, [])  # only parts named "file" are attached
    too_many = http.post("/rest/api/3/issue/CPE-3445/attachments", files=files[:1] * 61)
    assert too_many.status_code == 413 and "413" in operation["responses"]
    http.close()
