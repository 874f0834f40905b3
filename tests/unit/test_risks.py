"""`risks` and the hourly risk post: each rule on constructed fixtures (thresholds met exactly, no
deadline, no devices), the vision's two risks from the seed through the real command, the cron post
telling each risk once (again only when its evidence changes), and services down."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from remedy.db.models_insights import PostedRisk
from remedy.insights.model import Inputs, RingWatch, Rollout, ordered
from remedy.insights.risks import blocker_risks, evaluate, sla_risks, vendor_risks
from remedy.insights.rollout_risks import card_risks, compliance_risk, ring_risks
from remedy.insights.settings import load_insight_settings
from remedy.jamf.models import ComplianceCount
from remedy.jira.models import Comment, Issue, IssueLink, JiraUser
from remedy.remediation.store import RingView
from remedy.tickets.memory import Card
from remedy_cli.embedded import Runtime
from tests.slackview import block_texts, button, buttons
from workers.cron import SCHEDULE, tick

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
SETTINGS = load_insight_settings()
POST = next(e for e in SCHEDULE if e.func == "workers.insights.post_risks")
ALICE = JiraUser(account_id="5b10a2844c20165700ede21a", display_name="Alice Martin")


def _issue(key: str, **fields: Any) -> Issue:
    base: dict[str, Any] = {"key": key, "id": key.split("-")[1], "summary": f"Ticket {key}", "status": "Rollout",
                            "status_category": "indeterminate", "issue_type": "Task", "priority": None,
                            "created": datetime(2026, 11, 1, 9, 0, tzinfo=UTC), "updated": NOW, "assignee": ALICE}
    return Issue(**{**base, **fields})


def _comment(text: str, at: datetime) -> Comment:
    return Comment(id="1", author="John Smith", created=at, body_text=text)


def _blocked_by(other: str, status: str = "Investigation") -> IssueLink:
    return IssueLink(type="Blocks", direction="inward", other_key=other, phrase="is blocked by", other_status=status)


# -- the rules on fixtures --------------------------------------------------------------------------


def test_sla_breached_near_exactly_at_threshold_and_without_deadline() -> None:
    issues = [_issue("CPE-1", due_date=date(2026, 11, 27)),  # 2 days: exactly near_days → near
              _issue("CPE-2", due_date=date(2026, 11, 28)),  # 3 days: fine
              _issue("CPE-3", due_date=date(2026, 11, 24)),  # yesterday: breached
              _issue("CPE-4"),  # no due date, no priority: no deadline at all
              _issue("CPE-5", priority="High", created=datetime(2026, 11, 5, tzinfo=UTC)),  # 14-day SLA → 11-19
              _issue("CPE-6", due_date=date(2026, 11, 1), issue_type="Sub-task")]  # the parent carries it
    found = {r.ticket: r for r in sla_risks(issues, SETTINGS, NOW)}
    assert sorted(found) == ["CPE-1", "CPE-3", "CPE-5"]
    assert found["CPE-1"].rule == "sla_near" and found["CPE-1"].headline == "SLA at risk: due in 2 days (2026-11-27)"
    assert found["CPE-3"].headline == "SLA breached: 1 day overdue (2026-11-24)"
    assert found["CPE-5"].severity == "high" and "High SLA of 14 days" in found["CPE-5"].evidence
    assert found["CPE-3"].action is not None and found["CPE-3"].action.command == "escalate"
    # A day later the breach is older, but its evidence (state and date) is the same: same fingerprint.
    later = {r.ticket: r for r in sla_risks(issues, SETTINGS, NOW + timedelta(days=1))}
    assert later["CPE-3"].fingerprint == found["CPE-3"].fingerprint and later["CPE-3"].urgency == -2


def test_blocker_older_than_limit_is_strict_and_says_when_its_age_is_a_bound() -> None:
    blocked = _issue("CPE-10", created=datetime(2026, 11, 1, tzinfo=UTC), links=[_blocked_by("CPE-11")])
    blocker = _issue("CPE-11", status="Investigation")
    exactly = Inputs([blocked, blocker], NOW, {("CPE-11", "CPE-10"): NOW - timedelta(days=5)})
    assert blocker_risks(exactly, SETTINGS) == []  # 5 days is not older than 5
    older = blocker_risks(Inputs([blocked, blocker], NOW, {("CPE-11", "CPE-10"): NOW - timedelta(days=6)}),
                          SETTINGS)
    assert [r.headline for r in older] == ["blocked by *CPE-11* for 6 days"]
    assert older[0].action is not None and older[0].action.command == "escalate CPE-11"
    unknown = blocker_risks(Inputs([blocked, blocker], NOW), SETTINGS)  # no record of the link: creation
    assert unknown[0].headline == "blocked by *CPE-11* for at least 24 days"
    assert "link date unknown" in unknown[0].evidence
    done = _issue("CPE-12", links=[_blocked_by("CPE-11", status="Done")])
    assert blocker_risks(Inputs([done], NOW), SETTINGS) == []


def test_vendor_wait_overdue_after_response_days() -> None:
    waiting = "Sent crash logs to Zoom support. Waiting on vendor response."
    two = _issue("CPE-20", labels=["vendor-wait"], comments=[_comment(waiting, datetime(2026, 11, 23, 14, 30,
                                                                                        tzinfo=UTC))])
    three = _issue("CPE-21", labels=["Vendor-Wait"], comments=[_comment(waiting, datetime(2026, 11, 22, 14, 30,
                                                                                          tzinfo=UTC))])
    silent = _issue("CPE-22", labels=["vendor-wait"])  # no comment says since when: since creation
    unlabelled = _issue("CPE-23", comments=[_comment(waiting, datetime(2026, 11, 1, tzinfo=UTC))])
    found = {r.ticket: r for r in vendor_risks([two, three, silent, unlabelled], SETTINGS, NOW)}
    assert sorted(found) == ["CPE-21", "CPE-22"]
    assert found["CPE-21"].headline == "vendor response overdue (3 days)"
    assert "waiting since 2026-11-22" in found["CPE-21"].evidence and found["CPE-21"].urgency == -1
    assert "no comment says since when" in found["CPE-22"].evidence


def _rollout(compliant: int, total: int, due: date | None, priority: str | None = None,
             next_ring: str | None = None) -> Rollout:
    issue = _issue("CPE-30", due_date=due, priority=priority, created=datetime(2026, 11, 10, tzinfo=UTC))
    return Rollout(issue, ComplianceCount(total_with_app=total, compliant=compliant, behind=[], missing_app=0), 95.0,
                   next_ring=next_ring)


def test_compliance_near_deadline_behind_the_line_and_edge_cases() -> None:
    near = compliance_risk(_rollout(87, 100, date(2026, 11, 27)), SETTINGS, NOW)
    assert near is not None and near.rule == "compliance_near" and near.severity == "high"
    assert near.headline == "missing 13% of devices, deadline in 2 days"
    assert "87.0% compliant (87/100 Macs), target 95%: 8 Macs to go" in near.evidence
    assert near.action is not None and near.action.command == "exceptions"
    # Far from the deadline but far behind the straight line from creation (11-10) to 12-10.
    behind = compliance_risk(_rollout(10, 100, date(2026, 12, 10), next_ring="Phase 2"), SETTINGS, NOW)
    assert behind is not None and behind.rule == "compliance_behind"
    assert behind.headline == "missing 90% of devices, deadline in 15 days (behind plan: 10% vs 47% expected)"
    assert behind.action is not None and behind.action.label == "Rollout to Phase 2"
    assert compliance_risk(_rollout(45, 100, date(2026, 12, 10)), SETTINGS, NOW) is None  # on the line
    assert compliance_risk(_rollout(95, 100, date(2026, 11, 26)), SETTINGS, NOW) is None  # exactly at target
    assert compliance_risk(_rollout(0, 100, None), SETTINGS, NOW) is None  # no deadline: nothing to be late for
    assert compliance_risk(_rollout(0, 0, date(2026, 11, 26)), SETTINGS, NOW) is None  # no Mac has the app
    # One more Mac moves the numbers, not the fingerprint; a bigger step does.
    nearer = compliance_risk(_rollout(88, 100, date(2026, 11, 27)), SETTINGS, NOW)
    jump = compliance_risk(_rollout(93, 100, date(2026, 11, 27)), SETTINGS, NOW)
    assert nearer is not None and jump is not None
    assert nearer.fingerprint == near.fingerprint != jump.fingerprint


def _ring(started: datetime) -> RingView:
    return RingView(0, "pilot", "Pilot", 5, "Pilot", 90, 24, "active", started)


def test_ring_stuck_past_soak_and_stale_go_no_go_card() -> None:
    at_limit = RingWatch("CPE-40", _ring(NOW - timedelta(hours=48)), "Phase 1", None)  # 24 h over: allowed
    stuck = RingWatch("CPE-41", _ring(NOW - timedelta(hours=49)), "Phase 1", None)
    asked = RingWatch("CPE-42", _ring(NOW - timedelta(hours=72)), "Phase 1", NOW - timedelta(hours=1))
    last = RingWatch("CPE-43", _ring(NOW - timedelta(hours=72)), None, None)  # no ring to go to
    found = ring_risks(Inputs([], NOW, rings=[at_limit, stuck, asked, last]), SETTINGS)
    assert [(r.ticket, r.headline) for r in found] == [
        ("CPE-41", "Pilot ring soaked 49 h with no go/no-go for Phase 1")]
    assert found[0].action is not None and found[0].action.command == "rollout next"
    cards = [Card(7, "CPE-44", "pilot", "phase1", NOW - timedelta(hours=24), "U01ALICE"),
             Card(8, "CPE-45", "pilot", "phase1", NOW - timedelta(hours=30), "U01ALICE")]
    stale = card_risks(Inputs([], NOW, cards=cards, ring_labels={("CPE-45", "phase1"): "Phase 1"}), SETTINGS)
    assert [(r.ticket, r.headline) for r in stale] == [
        ("CPE-45", "go/no-go for pilot → Phase 1 waiting 30 h for a lead")]


def test_order_is_severity_then_urgency_and_near_sla_gives_way_to_compliance() -> None:
    slack = _issue("CPE-50", due_date=date(2026, 11, 27))
    vendor = _issue("CPE-51", labels=["vendor-wait"], created=datetime(2026, 11, 20, tzinfo=UTC))
    rollout = Rollout(slack, ComplianceCount(total_with_app=100, compliant=87, behind=[], missing_app=0), 95.0)
    found = evaluate(Inputs([slack, vendor], NOW, rollouts=[rollout]), SETTINGS)
    assert [(r.ticket, r.rule) for r in found] == [("CPE-51", "vendor_overdue"), ("CPE-50", "compliance_near")]
    assert ordered(list(reversed(found))) == found


# -- through the real app ---------------------------------------------------------------------------


def _answer(runtime: Runtime, text: str, user: str = "U01ALICE") -> tuple[str, list[dict[str, Any]]]:
    sent = runtime.slash(text, user=user)
    runtime.drain()
    view = runtime.sandbox.slack_state.response_view(sent.response_url)
    assert view is not None
    return view.text, view.blocks


def test_the_visions_two_risks_from_the_seed(runtime: Runtime) -> None:
    text, blks = _answer(runtime, "risks", user="U04JDOE")
    assert text.startswith("Risks: ⚠️ CPE-3301 vendor response overdue (3 days) · "
                           "⚠️ CPE-3445 missing 13% of devices, deadline in 2 days")
    shown = block_texts(blks)
    assert "waiting since 2026-11-22" in shown and "(661/758 Macs), target 95%" in shown
    remind = button(blks, "Remind vendor")
    assert json.loads(remind["value"]) == {"action": "draft comment about a reminder to the vendor",
                                           "ticket": "CPE-3301", "ref": ""}
    pressed = runtime.press(button(blks, "Show stragglers"), user="U04JDOE", ephemeral=True)
    assert pressed.status == 200
    runtime.drain()
    said = [p.text for p in runtime.sandbox.slack_state.response_posts(pressed.response_url)]
    assert any("CPE-3445" in t for t in said)  # the button ran `exceptions CPE-3445`


def test_the_model_words_only_the_summary_and_invented_numbers_are_refused(runtime: Runtime) -> None:
    runtime.sandbox.ollama_state.script('{"summary": "7 risks, CPE-3445 is missing 41% of devices."}')
    text, blks = _answer(runtime, "risks")  # the model's answer is cached per facts: asked once
    shown = block_texts(blks)
    assert text.startswith("Risks: ⚠️ CPE-3301 vendor response overdue (3 days)")  # lines are computed
    assert "41%" not in shown and "worded from the template" in shown
    assert "4 risks, 2 high. Most urgent: CPE-3301 vendor response overdue (3 days)" in shown


def test_bad_input_jira_down_and_jamf_down(runtime: Runtime) -> None:
    sent = runtime.slash("risks now")
    assert "I didn't expect `now` here" in sent.ack_text and "Usage: `risks`" in sent.ack_text
    runtime.sandbox.jamf_state.fail_next(503, times=50, path_contains="computers-inventory")
    text, blks = _answer(runtime, "risks")
    assert "CPE-3301 vendor response overdue" in text and "missing 13%" not in text
    assert "compliance not checked: Jamf is unavailable" in block_texts(blks)
    runtime.sandbox.jira_state.fail_next(503, times=20)
    text, blks = _answer(runtime, "risks")
    assert text.startswith("❌") and "Jira is unavailable" in text and [b["text"]["text"] for b in buttons(blks)] == [
        "Retry"]


# -- the hourly post ----------------------------------------------------------------------------------


def _cron(runtime: Runtime) -> list[str]:
    ids = tick(runtime.services.queue, runtime.sandbox.now(), [POST])
    runtime.drain()
    return ids


def test_cron_posts_new_risks_once_and_changed_ones_as_updates(runtime: Runtime) -> None:
    slack, channel = runtime.sandbox.slack_state, "C0CPETEAM"  # dev-team's channel (all three assignees)
    assert len(_cron(runtime)) == 1 and _cron(runtime) == []  # the slot runs once
    posts = slack.messages(channel)
    assert len(posts) == 1 and posts[0].text.startswith("New risks: ⚠️ CPE-3301 vendor response overdue (3 days)")
    assert "*New risks*: 4 new" in block_texts(posts[0].blocks)
    runtime.sandbox.jamf_state.advance(3600)  # next hour: nothing changed
    assert len(_cron(runtime)) == 1 and len(slack.messages(channel)) == 1
    runtime.sandbox.jira_state.issues["CPE-3445"].due_date = date(2026, 11, 26)  # the deadline moved in
    runtime.sandbox.jamf_state.advance(3600)
    _cron(runtime)
    posts = slack.messages(channel)
    assert len(posts) == 2 and "*Risks changed*: 1" in block_texts(posts[1].blocks)
    assert "🔁 _update_ · ⚠️ *CPE-3445* missing 13% of devices, deadline in 1 day" in block_texts(posts[1].blocks)
    assert "CPE-3301" not in block_texts(posts[1].blocks)
    # A run that died after posting, before recording, is retried: the post is found, not repeated.
    with runtime.services.db.session() as s:  # the record as it was before that post
        s.execute(update(PostedRisk).where(PostedRisk.revision == 2).values(fingerprint="before", revision=1))
    runtime.sandbox.jamf_state.advance(3600)
    _cron(runtime)
    assert len(slack.messages(channel)) == 2
    with runtime.services.db.session() as s:
        assert s.scalar(select(PostedRisk.revision).where(PostedRisk.risk_id.like("compliance_near:CPE-3445%"))) == 2
