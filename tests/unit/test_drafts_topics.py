"""`draft comment [KEY] about …` for each topic, through Slack → queue → job → simulators, with the model
(the Ollama simulator) and without it: the same facts and numbers either way. macOS compatibility counts
the fleet by full version compare; a model that invents a number gets the template posted instead."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from remedy.sandbox.run import Sandbox
from remedy_cli.embedded import Runtime
from tests.slackview import block_texts, button

CHROME = "com.google.Chrome"


@pytest.fixture(params=["model", "templates"])
def rt(request: pytest.FixtureRequest, sandbox: Sandbox, sqlite_url: str) -> Iterator[Runtime]:
    extra: dict[str, Any] = {} if request.param == "model" else {"OLLAMA_HOST": None}
    runtime = Runtime.start(sandbox, sqlite_url, REMEDY_RETRY_DELAYS=[0], REMEDY_JIRA_TRIES=1, **extra)
    yield runtime
    runtime.stop()


def _draft(rt: Runtime, line: str) -> tuple[str, list[dict[str, Any]]]:
    sent = rt.slash(line)
    rt.drain()
    view = rt.sandbox.slack_state.response_view(sent.response_url)
    assert view is not None, sent.ack_text
    text = block_texts(view.blocks)
    assert "Draft comment for" in text, text
    return text, view.blocks


def _os(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _macs_below(rt: Runtime, version: str) -> tuple[int, int]:
    """(Macs with Chrome, those on a macOS older than ``version``), read from the fleet itself."""
    with_app = [d for d in rt.sandbox.jamf_state.fleet.devices if CHROME in d.apps]
    return len(with_app), sum(1 for d in with_app if _os(d.os_version) < _os(version))


# -- macOS compatibility ------------------------------------------------------------------------------


@pytest.mark.parametrize("asked", ["14.2", "14.6.1"])
def test_compatibility_counts_macs_below_the_asked_version_in_full(rt: Runtime, asked: str) -> None:
    total, below = _macs_below(rt, asked)
    majors_below = sum(1 for d in rt.sandbox.jamf_state.fleet.devices
                       if CHROME in d.apps and _os(d.os_version)[0] < _os(asked)[0])
    text, _ = _draft(rt, f"draft comment CPE-3222 about macOS {asked} compatibility")
    assert f"{total} Macs have the app" in text and f"{below} of them run a macOS older than {asked}." in text
    assert "minimum macOS for Chrome 120.0.6099.109 is unknown" in text  # the ticket doesn't say: unknown
    if asked == "14.6.1":
        assert below > majors_below  # 14.4.1 counts as older: a major-only compare would miss it


def test_a_minimum_the_ticket_states_is_counted_against_the_fleet(rt: Runtime) -> None:
    jira = rt.sandbox.jira_state
    with jira.lock:
        issue = jira.issues["CPE-3222"]
        issue.description["content"].append(
            {"type": "paragraph", "content": [{"type": "text", "text": "Requires macOS 14.5 or later."}]})
    _, below = _macs_below(rt, "14.5")
    text, _ = _draft(rt, "draft comment CPE-3222 about macOS compatibility")
    assert f"The ticket states macOS 14.5 as the minimum: {below} of them run an older macOS" in text
    assert "older than" not in text  # no version asked: only the ticket's minimum is counted


def test_an_unknown_app_stays_unknown(rt: Runtime) -> None:
    text, _ = _draft(rt, "draft comment CPE-123 about macOS 14.2 compatibility")
    assert "macOS compatibility for CPE-123 is unknown" in text and "Macs have the app" not in text


# -- the other topics -----------------------------------------------------------------------------------


def test_pilot_group_rollback_and_communication_drafts(rt: Runtime) -> None:
    text, _ = _draft(rt, "draft comment CPE-3222 about pilot group selection")
    assert "Pilot group for CPE-3222: Pilot - Chrome, the workflow's first ring" in text
    assert "at least 90% of its Macs run the target version after 24 h" in text
    text, _ = _draft(rt, "draft comment CPE-3222 about rollback scenarios")
    assert "No rollback policy exists for CPE-3222 yet" in text and "`create jamf policy`" in text
    text, _ = _draft(rt, "draft comment CPE-3222 about user communication")
    assert "Heads-up for Mac users: Chrome updates to 120.0.6099.109 automatically" in text
    assert "Every Mac should be updated by 2026-11-30." in text


def test_a_rollback_draft_names_the_rollback_policy_once_it_exists(rt: Runtime) -> None:
    sent = rt.slash("create jamf policy CPE-3222")
    rt.drain()
    view = rt.sandbox.slack_state.response_view(sent.response_url)
    assert view is not None and view.text.startswith("✅ Jamf policy for *CPE-3222* created"), view
    [rollback] = [p for p in rt.sandbox.jamf_state.policies.values() if "rollback" in p.name]
    text, _ = _draft(rt, "draft comment CPE-3222 about rollback")
    assert f"Rollback for CPE-3222: policy {rollback.id} reinstalls" in text and "119.0.6045.199" in text


def test_an_executive_summary_draft_is_the_analysis_summary_and_risk(rt: Runtime) -> None:
    text, _ = _draft(rt, "draft comment CPE-3445 about executive summary")
    assert "CPE-3445 (Slack 4.36 update) is in Rollout" in text
    assert "Blocked by CPE-3301 (Investigation): it can't leave Rollout until that is resolved." in text


# -- the model's words: kept when grounded, dropped when not ----------------------------------------------


def test_a_draft_whose_model_invents_a_number_gets_the_template(rt: Runtime) -> None:
    rt.sandbox.ollama_state.script(json.dumps({"comment": "Status update on CPE-3222: 97% of Macs are updated, "
                                                          "so Phase 2 can start."}))
    text, blocks = _draft(rt, "draft comment CPE-3222")
    assert len(rt.sandbox.ollama_state.calls) == (0 if rt.services.settings.OLLAMA_HOST is None else 1)
    assert "97%" not in text and "Status update on CPE-3222 (Chrome 120 security update)" in text
    before = len(rt.sandbox.jira_state.comments("CPE-3222"))
    rt.press(button(blocks, "Post"), ephemeral=True)
    rt.drain()
    comments = rt.sandbox.jira_state.comments("CPE-3222")
    assert len(comments) == before + 1 and "97%" not in comments[-1]["text"]
    assert comments[-1]["text"].startswith("Status update on CPE-3222 (Chrome 120 security update)")


def test_a_grounded_rewording_of_a_draft_is_kept(rt: Runtime) -> None:
    reworded = ("Heads-up for Mac users: Chrome moves to 120.0.6099.109 at your Mac's next Jamf check-in, "
                "with nothing to do. Every Mac should be updated by 2026-11-30.")
    rt.sandbox.ollama_state.script(json.dumps({"comment": reworded}))
    text, _ = _draft(rt, "draft comment CPE-3222 about user communication")
    model = rt.services.settings.OLLAMA_HOST is not None
    assert (reworded in text) is model  # templates: the model is never asked
