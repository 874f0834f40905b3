"""Per-ring compliance and the exceptions list on a fleet where ~3% of Macs fail for good: the
failures remedy counts equal the Macs whose last run of the policy failed (the simulator's own
logs), offline Macs are listed as such, and each exception says why, from Jamf's data."""

from __future__ import annotations

import re

import pytest

from remedy.jamf.versions import is_compliant
from remedy.sandbox.jamf_state import JamfState
from remedy_cli.embedded import Runtime, Sent
from tests.slackview import block_texts, button

SARAH = "U02SARAH"
CHROME, TARGET = "com.google.Chrome", "120.0.6099.109"
HOUR = 3600


def _answer(rt: Runtime, sent: Sent) -> str:
    view = rt.sandbox.slack_state.response_view(sent.response_url)
    return "\n".join([view.text, block_texts(view.blocks)]) if view else ""


def _run(rt: Runtime, text: str) -> str:
    sent = rt.slash(text)
    rt.drain()
    return _answer(rt, sent)


def _rolled_to_phase1(rt: Runtime) -> None:
    _run(rt, "create jamf policy CPE-3222")
    _run(rt, "deploy pilot CPE-3222")
    rt.sandbox.jamf_state.advance(26 * HOUR)
    _run(rt, "rollout next CPE-3222")
    card = [m for m in rt.sandbox.slack_state.all_messages("C0CPETEAM") if "Go / No-go" in m.text][-1]
    rt.press(button(card.blocks, "Go"), user=SARAH, message_ts=card.ts)
    rt.drain()
    rt.sandbox.jamf_state.advance(30 * HOUR)


def _truth(state: JamfState) -> tuple[int, int]:
    """(Macs whose latest run of the install policy failed, offline Macs behind) in the two rings."""
    policy = next(p for p in state.policies.values() if "rollback" not in p.name)
    latest: dict[str, str] = {}
    for log in sorted(state.policy_logs(policy.id), key=lambda entry: entry.at):
        latest[log.device_id] = log.status
    failed = sum(1 for status in latest.values() if status == "Failed")
    members = [state.fleet.devices[i] for g in (1, 2) for i in state.groups[g].members]
    offline = sum(1 for d in members if d.offline and CHROME in d.apps and not is_compliant(d.apps[CHROME], TARGET))
    return failed, offline


def test_failures_and_exceptions_match_the_fleet(runtime: Runtime) -> None:
    _rolled_to_phase1(runtime)
    failed, offline = _truth(runtime.sandbox.jamf_state)
    assert failed > 0  # the seeded fleet fails ~3% of installs for good

    answer = _run(runtime, "compliance CPE-3222")
    assert f"complete*, {failed} failure" in answer
    assert "*Pilot* (Pilot - Chrome)" in answer and "*Phase 1* (Phase 1)" in answer
    assert "Phase 2 (Phase 2): not started" in answer

    page = _run(runtime, "exceptions CPE-3222")
    head = re.search(r"exceptions 1–(\d+) of (\d+) \((\d+) failed, (\d+) offline\)", page)
    assert head is not None, page
    assert (int(head.group(3)), int(head.group(4))) == (failed, offline)
    assert "not enough disk space" in page or "install failed" in page
    assert "last check-in" in page


def test_exceptions_before_a_rollout_say_what_to_run(runtime: Runtime) -> None:
    answer = _run(runtime, "exceptions CPE-3222")
    assert answer.startswith("❌") and "deploy pilot CPE-3222" in answer


def test_exceptions_are_paged_with_a_next_button(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("workers.jamf_actions.PAGE_SIZE", 2)  # four exceptions in the seeded fleet
    _rolled_to_phase1(runtime)
    sent = runtime.slash("exceptions CPE-3222")
    runtime.drain()
    first = runtime.sandbox.slack_state.response_view(sent.response_url)
    assert first is not None and "exceptions 1–2 of 4" in first.text
    pressed = runtime.press(button(first.blocks, "Next 2"), ephemeral=True)
    runtime.drain()
    second = runtime.sandbox.slack_state.response_view(pressed.response_url)
    assert second is not None and "exceptions 3–4 of 4" in second.text
    assert not [b for b in second.blocks if b["type"] == "actions"]  # the last page has no Next
