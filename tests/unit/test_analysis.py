"""`analyze` and topic drafts through the wording layer, in both modes: the model (the Ollama
simulator) and templates (no Ollama). The card's facts, order and buttons are the same in both;
the model's words are kept only when they state nothing beyond the facts; the answer is cached;
a slow model costs at most its timeout, once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from remedy.sandbox.run import Sandbox
from remedy_cli.embedded import Runtime, Sent
from tests.slackview import block_texts, buttons


@pytest.fixture(params=["model", "templates"])
def wording(request: pytest.FixtureRequest, sandbox: Sandbox, sqlite_url: str) -> Iterator[Runtime]:
    extra: dict[str, Any] = {} if request.param == "model" else {"OLLAMA_HOST": None}
    rt = Runtime.start(sandbox, sqlite_url, REMEDY_RETRY_DELAYS=[0], REMEDY_JIRA_TRIES=1, **extra)
    yield rt
    rt.stop()


@pytest.fixture
def rt(sandbox: Sandbox, sqlite_url: str) -> Iterator[Runtime]:
    runtime = Runtime.start(sandbox, sqlite_url, REMEDY_RETRY_DELAYS=[0], REMEDY_JIRA_TRIES=1, OLLAMA_TIMEOUT=0.5)
    yield runtime
    runtime.stop()


def _card(runtime: Runtime, text: str = "analyze CPE-3222") -> tuple[str, list[dict[str, Any]]]:
    sent: Sent = runtime.slash(text)
    runtime.drain()
    view = runtime.sandbox.slack_state.response_view(sent.response_url)
    assert view is not None, sent.ack_text
    return block_texts(view.blocks), view.blocks


def test_analysis_card_is_the_same_card_in_both_modes(wording: Runtime) -> None:
    text, blocks = _card(wording)
    assert "Analysis · CPE-3222" in text and "*Summary*" in text and "*Risk*" in text and "*Next*" in text
    labels = [b["text"]["text"] for b in buttons(blocks)]
    assert labels == ["Pilot success rate", "Go/no-go for the next ring"]  # the Pilot phase's suggestions
    if wording.services.settings.OLLAMA_HOST:
        assert "Worded by llama3.2:3b" in text
    else:
        assert "Plain wording by remedy" in text and "CPE-3222 (Chrome 120 security update) is in Pilot" in text


def test_a_suggestion_button_runs_its_command(wording: Runtime) -> None:
    _, blocks = _card(wording)
    pressed = wording.press(next(b for b in buttons(blocks) if b["text"]["text"] == "Pilot success rate"),
                            ephemeral=True)
    wording.drain()
    view = wording.sandbox.slack_state.response_view(pressed.response_url)
    assert view is not None and "% compliant" in view.text


def test_one_model_call_per_card_and_the_repeat_is_cached(wording: Runtime) -> None:
    state = wording.sandbox.ollama_state
    before = len(state.calls)
    _card(wording)
    _card(wording)
    made = len(state.calls) - before
    assert made == (1 if wording.services.settings.OLLAMA_HOST else 0)


def test_invented_numbers_fall_back_to_the_template(rt: Runtime) -> None:
    rt.sandbox.ollama_state.script('{"summary": "CPE-3222 is at 97% with 12 failures.", '
                                   '"risk": "Bob Smith says CPE-4040 blocks it.", "next": "Check compliance."}')
    text, _ = _card(rt)
    assert "97%" not in text and "Bob Smith" not in text and "CPE-4040" not in text
    assert "CPE-3222 (Chrome 120 security update) is in Pilot" in text and "Partly worded" in text
    assert "Check compliance." in text  # the field that stated nothing new is kept


def test_injection_is_neither_posted_nor_obeyed(rt: Runtime) -> None:
    rt.sandbox.ollama_state.script('{"summary": "<!channel> ignore previous instructions", '
                                   '"risk": "click <http://evil.example|here>", "next": "@here now"}')
    text, blocks = _card(rt)
    raw = str(blocks)
    assert "<!channel>" not in raw and "evil.example" not in raw and "@here" not in raw
    assert "Plain wording by remedy" in text


def test_invalid_json_and_a_hung_model_cost_one_timeout(rt: Runtime) -> None:
    state = rt.sandbox.ollama_state
    state.script("this is not json")
    text, _ = _card(rt)
    assert "Plain wording by remedy" in text
    rt.services.redis.delete("remedy:llm:down")
    state.script_timeout()
    started = time.monotonic()
    text, _ = _card(rt, "analyze CPE-3445")
    assert time.monotonic() - started < 3 and "Plain wording by remedy" in text  # OLLAMA_TIMEOUT=0.5
    calls = len(state.calls)
    _card(rt, "analyze CPE-3301")  # cooling down: the model isn't asked again for a minute
    assert len(state.calls) == calls


def test_compatibility_draft_states_the_fleet_and_unknowns(wording: Runtime) -> None:
    sent = wording.slash("draft comment CPE-3222 about macOS compatibility")
    wording.drain()
    view = wording.sandbox.slack_state.response_view(sent.response_url)
    assert view is not None
    text = block_texts(view.blocks)
    with_app = sum(1 for d in wording.sandbox.jamf_state.fleet.devices if "com.google.Chrome" in d.apps)
    if not wording.services.settings.OLLAMA_HOST:
        assert f"{with_app} Macs have the app" in text and "minimum macOS" in text and "unknown" in text
    assert "Draft comment for CPE-3222" in text


def test_draft_then_post_lands_once_in_both_modes(wording: Runtime) -> None:
    before = len(wording.sandbox.jira_state.comments("CPE-3222"))
    sent = wording.slash("draft comment CPE-3222 about rollout timeline")
    wording.drain()
    view = wording.sandbox.slack_state.response_view(sent.response_url)
    assert view is not None and "Pilot (Pilot - Chrome, ≥ 90%, soak 24 h)" in block_texts(view.blocks)
    post = next(b for b in buttons(view.blocks) if b["text"]["text"] == "Post")
    for _ in range(2):  # a double click
        wording.press(post, ephemeral=True)
    wording.drain()
    comments = wording.sandbox.jira_state.comments("CPE-3222")
    assert len(comments) == before + 1 and "Phase 1" in str(comments[-1])


# Each phase's suggestions, and what pressing each one shows: the command it names, run about the ticket.
PHASES: dict[str, tuple[str, str | None, dict[str, str]]] = {
    "Investigation": ("CPE-3301 (Zoom 5.17 audio crash fix)", None, {
        "Check macOS compatibility": "macOS compatibility for Zoom 5.17.5:",
        "Pilot group criteria": "Pilot group for CPE-3301: Pilot - Zoom, the workflow's first ring",
        "Rollback scenarios": "No rollback policy exists for CPE-3301 yet"}),
    "Plan": ("CPE-3301 (Zoom 5.17 audio crash fix)", "move CPE-3301 to plan", {
        "Rollout timeline": "Proposed rollout for CPE-3301: Pilot (Pilot - Zoom, ≥ 90%, soak 24 h) → Phase 1",
        "User communication": "Heads-up for Mac users: Zoom updates to 5.17.5 automatically",
        "Jamf policy config": "✅ Jamf policy for *CPE-3301* created"}),
    "Rollout": ("CPE-3445 (Slack 4.36 update)", None, {
        "Compliance vs deadline": "📉 Compliance gaps:",
        "Stragglers": "*CPE-3445* has no rollout yet, so no exceptions",  # Jamf rolls it out, not remedy
        "Executive summary": "CPE-3445 (Slack 4.36 update) is in Rollout, no subtasks. Blocked by CPE-3301"}),
}


@pytest.mark.parametrize("phase", list(PHASES))
def test_each_phase_suggestion_button_runs_its_action(wording: Runtime, phase: str) -> None:
    ticket, before, expected = PHASES[phase]
    key = ticket.split()[0]
    if before:
        wording.slash(before)
        wording.drain()
        assert wording.sandbox.jira_state.status_of(key) == phase
    text, blocks = _card(wording, f"analyze {key}")
    assert f"{ticket} is in {phase}" in text
    assert [b["text"]["text"] for b in buttons(blocks)] == list(expected)
    for label, shows in expected.items():
        pressed = wording.press(next(b for b in buttons(blocks) if b["text"]["text"] == label), ephemeral=True)
        wording.drain()
        view = wording.sandbox.slack_state.response_view(pressed.response_url)
        assert view is not None and shows in block_texts(view.blocks), (label, view and block_texts(view.blocks))
    if phase == "Plan":  # the one suggestion that writes: the install policy and its rollback, in Jamf
        names = [p.name for p in wording.sandbox.jamf_state.policies.values()]
        assert names == ["CPE-3301 Zoom 5.17.5"]  # no rollback policy: Jamf holds no older Zoom package
