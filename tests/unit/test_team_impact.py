"""`team impact`: blocking links across teams, cycles (A blocks B blocks C blocks A), people over the
open high-priority limit — on constructed fixtures and through the real command."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from remedy.insights.impact import find_cycles, groups_by_account, impact
from remedy.insights.settings import load_insight_settings
from remedy.jira.models import Issue, IssueLink, JiraUser
from remedy.sandbox.seed import IssueRecord, team
from remedy.team import load_directory
from remedy_cli.embedded import Runtime
from tests.slackview import block_texts, buttons

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
SETTINGS = load_insight_settings()
TEAM = load_directory()
ALICE = JiraUser(account_id="5b10a2844c20165700ede21a", display_name="Alice Martin")
SARAH = JiraUser(account_id="5b10ac8d82e05b22cc7d4ef5", display_name="Sarah Chen")


def _issue(key: str, assignee: JiraUser | None = ALICE, priority: str = "High", links: list[IssueLink] | None = None,
           **fields: Any) -> Issue:
    return Issue(key=key, id=key.split("-")[1], summary=f"Ticket {key}", status="Investigation",
                 status_category="indeterminate", issue_type="Task", priority=priority, created=NOW, updated=NOW,
                 assignee=assignee, links=links or [], **fields)


def _blocks(other: str, status: str = "Investigation") -> IssueLink:
    return IssueLink(type="Blocks", direction="outward", other_key=other, phrase="blocks", other_status=status)


def test_cycles_are_found_once_each_walked_from_the_smallest_key() -> None:
    pairs = [("CPE-3", "CPE-1"), ("CPE-1", "CPE-2"), ("CPE-2", "CPE-3"), ("CPE-7", "CPE-8"), ("CPE-8", "CPE-9")]
    assert find_cycles(pairs) == [["CPE-1", "CPE-2", "CPE-3", "CPE-1"]]
    assert find_cycles([("A-1", "A-2"), ("A-2", "A-1"), ("B-1", "B-2"), ("B-2", "B-3"), ("B-3", "B-1")]) == [
        ["A-1", "A-2", "A-1"], ["B-1", "B-2", "B-3", "B-1"]]
    assert find_cycles([]) == []


def test_teams_cross_links_cycle_and_overload_on_fixtures() -> None:
    assert groups_by_account(TEAM)[ALICE.account_id] == "dev-team"
    assert groups_by_account(TEAM)[SARAH.account_id] == "cpe-leads"  # a lead of cpe-leads, member of none
    issues = [
        _issue("CPE-1", links=[_blocks("CPE-2")]),
        _issue("CPE-2", links=[_blocks("CPE-3")]),
        _issue("CPE-3", assignee=SARAH, links=[_blocks("CPE-1")]),  # closes the cycle, across teams
        _issue("NET-7", assignee=None, links=[_blocks("CPE-4")]),  # another project, unassigned
        _issue("CPE-4", priority="Medium"),
        _issue("CPE-5", links=[_blocks("CPE-6", status="Done")]),  # a done ticket is blocked no more
    ]
    found = impact(issues, SETTINGS, TEAM)
    assert found.cycles == [["CPE-1", "CPE-2", "CPE-3", "CPE-1"]]
    assert [(e.blocker, e.blocked, e.blocker_team, e.blocked_team) for e in found.cross] == [
        ("CPE-2", "CPE-3", "dev-team", "cpe-leads"), ("CPE-3", "CPE-1", "cpe-leads", "dev-team"),
        ("NET-7", "CPE-4", "NET", "dev-team")]
    # Alice has 3 open High tickets (CPE-1, CPE-2, CPE-5): exactly the limit is not overloaded.
    assert found.overloaded == []
    more = impact([*issues, _issue("CPE-9", priority="Highest")], SETTINGS, TEAM)
    assert [(load.name, load.keys) for load in more.overloaded] == [
        ("Alice Martin", ("CPE-1", "CPE-2", "CPE-5", "CPE-9"))]


def _answer(runtime: Runtime, text: str) -> tuple[str, str, list[dict[str, Any]]]:
    sent = runtime.slash(text)
    runtime.drain()
    view = runtime.sandbox.slack_state.response_view(sent.response_url)
    assert view is not None
    return view.text, block_texts(view.blocks), view.blocks


def test_team_impact_on_the_seed_then_a_cycle_and_another_teams_ticket(runtime: Runtime) -> None:
    text, shown, _ = _answer(runtime, "team impact")
    assert text == "🕸 Team impact: 1 blocking link, 0 across teams, 0 cycles, 0 overloaded"
    assert "⛔ *CPE-3301* (dev-team, Investigation) blocks *CPE-3445* Slack 4.36 update (dev-team)" in shown
    jira = runtime.sandbox.jira_state
    issues = jira.issues
    jira.link("Blocks", issues["CPE-3445"], issues["CPE-3222"])
    jira.link("Blocks", issues["CPE-3222"], issues["CPE-3301"])  # CPE-3301 blocks CPE-3445: a cycle
    net = IssueRecord(id="17007", key="NET-7", summary="Proxy certificate rotation", issue_type="Task",
                      status="Plan", priority="High", reporter=team()["sarah"].account_id, assignee=None,
                      created=NOW, updated=NOW)
    issues["NET-7"] = net
    jira.link("Blocks", net, issues["CPE-3222"])
    text, shown, _ = _answer(runtime, "team impact")
    assert text == "🕸 Team impact: 4 blocking links, 1 across teams, 1 cycle, 0 overloaded"
    assert "🔁 *CPE-3222* blocks *CPE-3301* blocks *CPE-3445* blocks *CPE-3222*" in shown
    assert "⛔ *NET-7* (NET, Plan) blocks *CPE-3222* Chrome 120 security update (dev-team)" in shown


def test_team_impact_bad_input_and_jira_down(runtime: Runtime) -> None:
    sent = runtime.slash("team impact CPE-3222")
    assert "I didn't expect `CPE-3222` here" in sent.ack_text and "Usage: `team impact`" in sent.ack_text
    runtime.sandbox.jira_state.fail_next(503, times=20)
    text, _, blks = _answer(runtime, "team impact")
    assert text.startswith("❌") and "Jira is unavailable" in text
    assert [b["text"]["text"] for b in buttons(blks)] == ["Retry"]
