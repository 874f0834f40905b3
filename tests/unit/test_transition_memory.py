"""A walk through a status remedy has seen before posts its transition without asking Jira for the list
first; Jira stays the judge when the workflow changed since."""

from __future__ import annotations

from remedy_cli.embedded import Runtime


def _answer(rt: Runtime, sent: object) -> str:
    view = rt.sandbox.slack_state.response_view(sent.response_url)  # type: ignore[attr-defined]
    return view.text if view else ""


def _transition_reads(rt: Runtime, key: str) -> int:
    return sum(1 for r in rt.sandbox.jira_state.requests if r.method == "GET" and r.path.endswith(f"{key}/transitions"))


def test_a_status_walked_before_needs_no_second_read_of_its_transitions(runtime: Runtime) -> None:
    jira = runtime.sandbox.jira_state
    first = runtime.slash("move CPE-3222 to plan")  # Pilot → Build & Test → Plan: Build & Test is read
    runtime.drain()
    assert jira.status_of("CPE-3222") == "Plan" and _answer(runtime, first).startswith("✅")
    assert _transition_reads(runtime, "CPE-3222") == 2

    jira.set_status("CPE-3301", "Pilot")  # another ticket of the same project and type, same walk
    before = _transition_reads(runtime, "CPE-3301")
    second = runtime.slash("move CPE-3301 to plan")
    runtime.drain()
    assert jira.status_of("CPE-3301") == "Plan" and _answer(runtime, second).startswith("✅")
    assert _transition_reads(runtime, "CPE-3301") - before == 1  # only the one beside the ticket read


def test_a_republished_workflow_is_asked_again_and_the_move_still_lands(runtime: Runtime) -> None:
    jira = runtime.sandbox.jira_state
    runtime.slash("move CPE-3222 to plan")
    runtime.drain()
    jira.set_status("CPE-3301", "Pilot")
    jira.renumber_transition("101", "1001")  # "Back to Plan" from Build & Test has a new id now
    sent = runtime.slash("move CPE-3301 to plan")
    runtime.drain()
    assert jira.status_of("CPE-3301") == "Plan" and _answer(runtime, sent).startswith("✅")
    refused = [r for r in jira.requests if r.method == "POST" and r.path.endswith("CPE-3301/transitions")
               and r.status == 400]
    assert len(refused) == 1  # the remembered id, once; then the list is read and the new id used


def test_a_move_jira_no_longer_allows_is_refused_with_the_possible_moves(runtime: Runtime) -> None:
    jira = runtime.sandbox.jira_state
    runtime.slash("move CPE-3222 to plan")
    runtime.drain()
    jira.set_status("CPE-3301", "Pilot")
    jira.workflow = tuple(t for t in jira.workflow if t.id != "101")  # nothing leads back to Plan any more
    sent = runtime.slash("move CPE-3301 to plan")
    runtime.drain()
    answer = _answer(runtime, sent)
    assert answer.startswith("❌") and "doesn't allow" in answer and "Possible moves: Pilot" in answer
    assert jira.status_of("CPE-3301") == "Build & Test"  # the hop Jira allowed stands; nothing else
