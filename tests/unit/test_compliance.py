"""`/remedy compliance KEY`: numbers from Jamf inventory (numeric version compare), the trend since
the last measurement, and a clear answer when the ticket doesn't say what it remediates."""

from __future__ import annotations

import httpx

from remedy.jamf import JamfClient, PolicySpec
from remedy.remediation.facts import facts_from_issue
from remedy.sandbox.run import Sandbox
from remedy_cli.embedded import Runtime, Sent
from tests.slackview import only_thread

CHROME, TARGET = "com.google.Chrome", "120.0.6099.109"


def _answer(rt: Runtime, sent: Sent) -> str:
    view = rt.sandbox.slack_state.response_view(sent.response_url)
    return view.text if view else ""


def _jamf(sandbox: Sandbox) -> JamfClient:
    state = sandbox.jamf_state
    return JamfClient(sandbox.jamf.url, state.client_id, state.client_secret, transport=httpx.HTTPTransport())


def test_compliance_matches_the_fleet_and_shows_the_trend(runtime: Runtime) -> None:
    sandbox = runtime.sandbox
    expected = sandbox.jamf_state.compliance(CHROME, TARGET)
    first = runtime.slash("compliance CPE-3222")
    runtime.drain()
    answer = _answer(runtime, first)
    assert answer.startswith("✅") and f"{expected.compliant}/{expected.total} Macs" in answer

    with _jamf(sandbox) as jamf:  # the pilot ring gets the update and checks in over a simulated day
        jamf.create_policy(PolicySpec(name="Chrome 120 pilot", package_id=1, group_ids=(1,), enabled=True))
    sandbox.jamf_state.advance(24 * 3600)
    later = sandbox.jamf_state.compliance(CHROME, TARGET)
    assert later.compliant > expected.compliant

    second = runtime.slash("compliance CPE-3222")
    runtime.drain()
    answer = _answer(runtime, second)
    assert f"{later.compliant}/{later.total} Macs" in answer
    assert f"▲ +{later.compliant - expected.compliant} since" in answer
    replies = [m for m in only_thread(sandbox.slack_state)[1:]]
    texts = [m.text for m in replies if not m.files]  # the second measurement also shares the chart
    assert len(texts) == 2 and all("% compliant" in t for t in texts)
    assert sum(1 for m in replies if m.files) == 1


def test_ticket_without_app_facts_gets_told_what_to_add(runtime: Runtime) -> None:
    sent = runtime.slash("compliance CPE-123")  # the epic names no app
    runtime.drain()
    answer = _answer(runtime, sent)
    assert answer.startswith("❌") and "Bundle ID" in answer and "Target version" in answer


def test_facts_are_read_from_each_seed_ticket(runtime: Runtime) -> None:
    jira = runtime.services.jira
    got = {k: facts_from_issue(jira.get_issue(k)) for k in ("CPE-3222", "CPE-3301", "CPE-3445")}
    assert (got["CPE-3222"].bundle_id, got["CPE-3222"].target_version) == (CHROME, TARGET)
    assert (got["CPE-3301"].bundle_id, got["CPE-3301"].target_version) == ("us.zoom.xos", "5.17.5")
    assert got["CPE-3445"].target_version == "4.36.140" and got["CPE-3445"].app_name == "Slack"


def test_trend_is_since_yesterday_not_since_an_hour_ago(runtime: Runtime) -> None:
    sandbox = runtime.sandbox
    runtime.slash("compliance CPE-3222")
    runtime.drain()
    first = sandbox.jamf_state.compliance(CHROME, TARGET)
    with _jamf(sandbox) as jamf:
        jamf.create_policy(PolicySpec(name="Chrome 120 pilot", package_id=1, group_ids=(1,), enabled=True))
    sandbox.jamf_state.advance(24 * 3600)
    runtime.slash("compliance CPE-3222")
    runtime.drain()
    sandbox.jamf_state.advance(3600)
    third = runtime.slash("compliance CPE-3222")  # an hour later: still compared with yesterday's count
    runtime.drain()
    now = sandbox.jamf_state.compliance(CHROME, TARGET)
    assert f"▲ +{now.compliant - first.compliant} since 2026-11-25 09:00 UTC" in _answer(runtime, third)
