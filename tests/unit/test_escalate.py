"""`escalate` and `delegate` through the whole path: signed Slack request → Bolt → RQ → the Jira and
Slack simulators, asserting what Sarah, Jira, the ticket's thread and the audit trail end up with."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from remedy.audit import verify
from remedy.db.models import AuditEvent, PriorityOverride
from remedy.db.session import Database
from remedy.queue import Origin
from remedy.sandbox.run import HOME_CHANNEL, Sandbox
from remedy.sandbox.seed import Person as JiraPerson
from remedy.sandbox.slack_records import Message
from remedy.sandbox.slack_state import user_object
from remedy.team import TeamConfigError, load_directory
from remedy.team.escalation import default_target, priority_raise, take_turn
from remedy_cli.embedded import Runtime, Sent
from tests.crash import crash_and_rerun
from tests.slackview import block_texts

ALICE, SARAH, JSMITH, JDOE = "U01ALICE", "U02SARAH", "U03JSMITH", "U04JDOE"
ACCOUNT = {"alice": "5b10a2844c20165700ede21a", "sarah": "5b10ac8d82e05b22cc7d4ef5",
           "john.smith": "5b109f2e9729b51b54dc274d", "john.doe": "5b10a0effa615349cb016cd8"}
PRIORITIES = {"P1": "Highest", "P2": "High", "P3": "Medium", "P4": "Low"}


def _answer(rt: Runtime, sent: Sent) -> str:
    view = rt.sandbox.slack_state.response_view(sent.response_url)
    return view.text if view else sent.ack_text


def _run(rt: Runtime, text: str, user: str = ALICE) -> str:
    sent = rt.slash(text, user=user)
    rt.drain()
    return _answer(rt, sent)


def _dm_text(message: Message) -> str:
    return message.text + "\n" + block_texts(message.blocks)


def _replies(rt: Runtime, contains: str) -> list[Message]:
    parents = rt.sandbox.slack_state.messages(HOME_CHANNEL)
    return [m for p in parents for m in rt.sandbox.slack_state.replies(HOME_CHANNEL, p.ts) if contains in m.text]


def _events(rt: Runtime, action: str) -> list[AuditEvent]:
    with rt.services.db.session() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


def _remedy_comments(rt: Runtime, key: str) -> list[dict[str, Any]]:
    return [c for c in rt.sandbox.jira_state.comments(key) if c["text"].startswith("Escalated to")]


def _watcher_posts(rt: Runtime, key: str) -> int:
    return sum(1 for r in rt.sandbox.jira_state.requests if r.method == "POST" and r.path.endswith(f"{key}/watchers"))


def _enqueue(rt: Runtime, func: str, kwargs: dict[str, Any], user: str = ALICE, text: str = "") -> str:
    """A job as a button or an old message would bring it: no bot listener in front of it."""
    url = rt.sandbox.slack_state.new_response_url(HOME_CHANNEL, user)
    origin = Origin(user_id=user, channel_id=HOME_CHANNEL, response_url=url, text=text)
    rt.services.queue.enqueue(func, kwargs, origin)
    rt.drain()
    view = rt.sandbox.slack_state.response_view(url)
    return view.text if view else ""


# -- escalate ----------------------------------------------------------------------------------


def test_escalate_used_by_example_and_the_impatient_repeat(runtime: Runtime) -> None:
    slack, jira = runtime.sandbox.slack_state, runtime.sandbox.jira_state
    started = time.monotonic()
    answer = _run(runtime, "escalate CPE-3222 sarah")
    assert time.monotonic() - started < 10
    assert answer.startswith("✅") and "escalated to *Sarah Chen*" in answer
    dms = slack.dms_to("sarah")
    assert len(dms) == 1
    assert "Alice Martin* escalated *CPE-3222* to you" in _dm_text(dms[0])
    assert "CPE-3222 · Chrome 120 security update" in _dm_text(dms[0])  # the ticket card
    comments = _remedy_comments(runtime, "CPE-3222")
    assert len(comments) == 1 and comments[0]["text"].startswith("Escalated to Sarah Chen by Alice Martin")
    assert ACCOUNT["sarah"] in jira.watchers("CPE-3222") and _watcher_posts(runtime, "CPE-3222") == 1
    replies = _replies(runtime, "escalated")
    assert len(replies) == 1 and f"<@{SARAH}>" in replies[0].text
    assert len(_events(runtime, "team.escalate")) == 1

    again = _run(runtime, "escalate CPE-3222 sarah")  # a second identical request within a minute
    assert re.search(r"already escalated to \*Sarah Chen\* by you at \d\d:\d\d CET — nothing sent again", again)
    assert len(slack.dms_to("sarah")) == 1 and len(_remedy_comments(runtime, "CPE-3222")) == 1
    assert _watcher_posts(runtime, "CPE-3222") == 1 and len(_replies(runtime, "escalated")) == 1
    assert len(_events(runtime, "team.escalate")) == 1 and verify(runtime.services.db).ok


def test_a_minute_later_or_with_another_reason_it_is_a_new_escalation(runtime: Runtime) -> None:
    assert _run(runtime, "escalate CPE-3222 sarah").startswith("✅")
    assert _run(runtime, "escalate CPE-3222 to sarah pilot failing on 3 Macs").startswith("✅")
    runtime.sandbox.jamf_state.advance(61)  # the services' clock is the sandbox's
    assert "escalated to *Sarah Chen*" in _run(runtime, "escalate CPE-3222 sarah")
    assert len(runtime.sandbox.slack_state.dms_to("sarah")) == 3
    assert len(_events(runtime, "team.escalate")) == 3


@pytest.mark.parametrize(("text", "expected"), [
    ("escalate CPE-3222 nobody.here", "can't find “nobody.here”"),
    ("escalate CPE-3222 john", "John Smith (john.smith), John Doe (john.doe)"),
    ("escalate CPE-3222 alice", "can't escalate to yourself. Without a name, `escalate KEY` goes to Sarah Chen"),
    ("escalate CPE-3222 to dev-team", "dev-team is a group"),
    ("escalate CPE-3222 to mike.ross@example.com", "Mike Ross is in Jira but not in the team directory"),
])
def test_refusals_say_why_and_change_nothing(runtime: Runtime, text: str, expected: str) -> None:
    runtime.sandbox.jira_state.users["acct-mike"] = JiraPerson("mike.ross", "acct-mike", "Mike Ross",
                                                               "mike.ross@example.com", "UTC")
    before = len(runtime.sandbox.jira_state.comments("CPE-3222"))
    answer = _run(runtime, text)
    assert answer.startswith("❌") and expected in answer
    assert len(runtime.sandbox.jira_state.comments("CPE-3222")) == before
    assert runtime.sandbox.slack_state.messages(HOME_CHANNEL) == [] and not _events(runtime, "team.escalate")
    assert all(not runtime.sandbox.slack_state.dms_to(who) for who in ("sarah", "john.smith", "john.doe"))


@pytest.mark.parametrize(("method", "error", "expected"), [
    ("conversations.open", "user_not_found", "Slack doesn't know that user"),
    ("conversations.open", "cannot_dm_bot", "that Slack id belongs to a bot"),
    ("chat.postMessage", "not_in_channel", "I'm not in my DM with them"),
])
def test_dm_failure_stops_before_any_jira_write(runtime: Runtime, method: str, error: str, expected: str) -> None:
    jira = runtime.sandbox.jira_state
    runtime.sandbox.slack_state.fail_next(method, status=200, error=error)
    answer = _run(runtime, "escalate CPE-3301 sarah")
    assert answer.startswith(f"❌ I couldn't DM Sarah Chen: {expected}") and f"`{error}`" in answer
    assert "Nothing was changed" in answer
    assert jira.writes("CPE-3301") == [] and jira.priority_of("CPE-3301") == "Medium"
    assert runtime.sandbox.slack_state.messages(HOME_CHANNEL) == [] and not _events(runtime, "team.escalate")
    # The refusal gave its claim back: fixed, the same request goes through at once.
    assert _run(runtime, "escalate CPE-3301 sarah").startswith("✅")
    assert len(runtime.sandbox.slack_state.dms_to("sarah")) == 1


def test_escalation_raises_priority_per_rule_with_an_override(runtime: Runtime) -> None:
    jira = runtime.sandbox.jira_state  # CPE-3301 is Medium (P3); the shipped rule: at least P2
    answer = _run(runtime, "escalate CPE-3301 to sarah because vendor silent for 3 days")
    assert answer.startswith("✅") and "priority raised to *High*" in answer
    assert jira.priority_of("CPE-3301") == "High"
    dm = _dm_text(runtime.sandbox.slack_state.dms_to("sarah")[0])
    assert "vendor silent for 3 days" in dm and "Priority raised to *High*" in dm
    with runtime.services.db.session() as s:
        rows = list(s.scalars(select(PriorityOverride).where(PriorityOverride.ticket_key == "CPE-3301")))
    assert [(r.priority, r.reason, r.slack_user_id) for r in rows] == [
        ("High", "escalated to Sarah Chen: vendor silent for 3 days", ALICE)]
    event = _events(runtime, "team.escalate")[0]
    assert event.data["raised_to"] == "High" and event.data["reason"] == "vendor silent for 3 days"
    assert "Priority raised to *High* (P2)" in _replies(runtime, "escalated")[0].text
    # CPE-3222 is High already: the rule never lowers or re-sets it.
    _run(runtime, "escalate CPE-3222 sarah")
    assert not any(r.method == "PUT" and r.path.endswith("/issue/CPE-3222") for r in jira.requests)


def test_viewer_is_refused_by_the_bot_and_by_the_job(runtime: Runtime) -> None:
    for text in ("escalate CPE-3222 sarah", "delegate CPE-3222 to dev-team"):
        assert runtime.slash(text, user="U0STRANGER").ack_text.startswith("🔒")
    runtime.drain()
    for func, kwargs in (("escalate", {"key": "CPE-3222", "to": {"raw": "sarah", "kind": "handle"}}),
                         ("delegate", {"key": "CPE-3222", "to": {"raw": "dev-team", "kind": "handle"}})):
        answer = _enqueue(runtime, f"workers.team_actions.{func}", kwargs, user="U0STRANGER")
        assert answer.startswith("❌ 🔒") and "needs the *engineer* role" in answer
    assert len(_events(runtime, "auth.refused")) == 2
    assert runtime.sandbox.slack_state.dms_to("sarah") == [] and runtime.sandbox.jira_state.writes("CPE-3222") == []


def test_crashed_escalation_rerun_sends_nothing_twice(runtime: Runtime) -> None:
    jira, slack = runtime.sandbox.jira_state, runtime.sandbox.slack_state
    sent = runtime.slash("escalate CPE-3301 sarah because vendor silent")
    runtime.drain()
    crash_and_rerun(runtime, sent.ack_text.split("`")[-2])
    assert len(slack.dms_to("sarah")) == 1 and len(_remedy_comments(runtime, "CPE-3301")) == 1
    assert len(_replies(runtime, "escalated")) == 1 and len(_events(runtime, "team.escalate")) == 1
    with runtime.services.db.session() as s:
        assert len(list(s.scalars(select(PriorityOverride)))) == 1
    assert jira.priority_of("CPE-3301") == "High" and verify(runtime.services.db).ok


# -- rules from a team.yml of one's own ---------------------------------------------------------

_TEAM = """\
people:
  - {handle: alice, name: Alice Martin, slack_id: U01ALICE, email: alice@example.com,
     jira_account_id: 5b10a2844c20165700ede21a, role: engineer, manager: sarah, timezone: Europe/Berlin}
  - {handle: sarah, name: Sarah Chen, slack_id: U02SARAH, email: sarah.chen@example.com,
     jira_account_id: 5b10ac8d82e05b22cc7d4ef5, role: lead, manager: cto}
  - {handle: cto, name: Dana Cruz, slack_id: U05DANA, email: dana@example.com, role: admin}
escalation:
  default: manager
  notify_manager_chain: true
  raise_priority: P2
  chains:
    P2: [sarah, cto]
"""


@pytest.fixture
def own_team(sandbox: Sandbox, sqlite_url: str, tmp_path: Path) -> Any:
    (tmp_path / "team.yml").write_text(_TEAM)
    sandbox.slack_state.users["U05DANA"] = user_object(
        {"slack_id": "U05DANA", "handle": "cto", "name": "Dana Cruz", "email": "dana@example.com"})
    rt = Runtime.start(sandbox, sqlite_url, REMEDY_RETRY_DELAYS=[0], REMEDY_JIRA_TRIES=1, REMEDY_CONFIG_DIR=tmp_path)
    yield rt
    rt.stop()


def test_manager_chain_gets_an_fyi_when_the_rules_say_so(own_team: Runtime) -> None:
    slack = own_team.sandbox.slack_state
    answer = _run(own_team, "escalate CPE-3222 sarah because pilot failing")
    assert answer.startswith("✅")
    assert len(slack.dms_to("sarah")) == 1  # the target is in Alice's chain too: one DM, not two
    fyi = slack.dms_to("U05DANA")
    assert len(fyi) == 1 and "FYI: *Alice Martin* escalated *CPE-3222* to *Sarah Chen*" in _dm_text(fyi[0])
    assert "FYI sent to Dana Cruz" in _replies(own_team, "escalated")[0].text
    assert _events(own_team, "team.escalate")[0].data["fyi"] == ["cto"]


def test_a_refused_fyi_is_named_and_the_escalation_goes_ahead(own_team: Runtime) -> None:
    own_team.sandbox.slack_state.users.pop("U05DANA")  # Slack no longer knows the CTO
    answer = _run(own_team, "escalate CPE-3222 sarah")
    assert answer.startswith("✅") and "⚠️ I couldn't DM Dana Cruz: Slack doesn't know that user" in answer
    assert "the escalation went ahead" in answer and len(own_team.sandbox.slack_state.dms_to("sarah")) == 1
    assert len(_remedy_comments(own_team, "CPE-3222")) == 1
    assert _events(own_team, "team.escalate")[0].data["fyi_failed"] == ["cto"]


def test_no_person_named_goes_to_the_manager_by_default(runtime: Runtime) -> None:
    answer = _run(runtime, "escalate CPE-3222 because pilot stuck")  # no person: the rules' default
    assert answer.startswith("✅") and "escalated to *Sarah Chen*" in answer
    assert _events(runtime, "team.escalate")[0].data["why"] == "your manager"
    answer = _enqueue(runtime, "workers.team_actions.escalate", {"key": "CPE-3222"}, user=SARAH)
    assert answer.startswith("❌") and "You have no manager in the team directory" in answer


def test_no_person_named_follows_the_chain_for_the_tickets_priority(own_team: Runtime) -> None:
    slack = own_team.sandbox.slack_state
    assert _enqueue(own_team, "workers.team_actions.escalate", {"key": "CPE-3222"}).startswith("✅")
    assert len(slack.dms_to("sarah")) == 1  # CPE-3222 is P2: first in the P2 chain
    answer = _enqueue(own_team, "workers.team_actions.escalate", {"key": "CPE-3222"}, user=SARAH)
    assert answer.startswith("✅") and "not added as a watcher (Dana Cruz has no Jira account)" in answer
    assert len([m for m in slack.dms_to("U05DANA") if "to you" in _dm_text(m)]) == 1  # Sarah: next above her
    answer = _enqueue(own_team, "workers.team_actions.escalate", {"key": "CPE-3222"}, user="U05DANA")
    assert answer.startswith("❌") and "last person in the P2 escalation chain (Sarah Chen → Dana Cruz)" in answer


def test_default_target_and_priority_raise_rules() -> None:
    team = load_directory()
    alice, sarah = team.by_handle("alice"), team.by_handle("sarah")
    assert alice is not None and sarah is not None
    assert default_target(team, alice, "P1") == (sarah, "your manager")
    with pytest.raises(Exception, match="no manager"):
        default_target(team, sarah, None)
    assert priority_raise("P2", PRIORITIES, "Medium") is not None
    assert priority_raise("P2", PRIORITIES, "Lowest") is not None  # below every level
    assert priority_raise("P2", PRIORITIES, None) is not None
    assert priority_raise("P2", PRIORITIES, "High") is None and priority_raise("P2", PRIORITIES, "Highest") is None
    assert priority_raise(None, PRIORITIES, "Low") is None


@pytest.mark.parametrize(("change", "expected"), [
    (("    P2: [sarah, cto]", "    P2: [sarah, ghost]"), r"line 12 \(escalation.chains.P2.1\): .*'ghost' is not in"),
    (("  default: manager", "  default: nobody"), r"line 8 \(escalation.default\): .*neither `manager` nor"),
    (("  raise_priority: P2", "  raise_priority: urgent"),
     r"line 10 \(escalation.raise_priority\): String should match"),
    (("  notify_manager_chain: true", "  notify_manager_chian: true"),
     r"line 9 \(escalation.notify_manager_chian\): Extra inputs"),
    (("role: admin}", "role: admin, manager: alice}"), r"managers form a loop: alice → sarah → cto → alice"),
])
def test_bad_escalation_rules_name_the_line(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    (tmp_path / "team.yml").write_text(_TEAM.replace(*change))
    with pytest.raises(TeamConfigError, match=expected):
        load_directory(tmp_path)


def test_bad_group_config_names_the_line(tmp_path: Path) -> None:
    text = _TEAM + "groups:\n  - name: leads\n    members: [sarah]\n    assign: lead\n"
    (tmp_path / "team.yml").write_text(text)
    with pytest.raises(TeamConfigError, match=r"line 16 \(groups.0.assign\): group leads: `assign: lead` needs"):
        load_directory(tmp_path)


# -- delegate ----------------------------------------------------------------------------------


def test_delegate_to_a_group_takes_turns_watches_and_tells_the_channel(runtime: Runtime) -> None:
    jira, slack = runtime.sandbox.jira_state, runtime.sandbox.slack_state
    first = _run(runtime, "delegate CPE-3301 to dev-team")
    second = _run(runtime, "delegate CPE-3445 to dev-team")
    assert first.startswith("✅") and second.startswith("✅")
    # Alice is in dev-team, so the turns go to the others: two calls, two different people.
    assert jira.assignee_of("CPE-3301") == ACCOUNT["john.smith"] and jira.assignee_of("CPE-3445") == ACCOUNT["john.doe"]
    for key in ("CPE-3301", "CPE-3445"):
        assert {ACCOUNT["alice"], ACCOUNT["john.smith"], ACCOUNT["john.doe"]} <= set(jira.watchers(key))
    notes = [m for m in slack.messages("C0CPETEAM") if m.text.startswith("📣")]
    assert [f"<@{JSMITH}>" in notes[0].text, f"<@{JDOE}>" in notes[1].text] == [True, True]
    assert all("/archives/C0CPETEAM/p" in n.text and "the ticket thread" in n.text for n in notes)
    assert "(round-robin turn 1)" in _replies(runtime, "delegated")[0].text
    repeat = _run(runtime, "delegate CPE-3301 to dev-team")
    assert "already delegated to *dev-team* by you" in repeat and jira.assignee_of("CPE-3301") == ACCOUNT["john.smith"]
    assert len(_events(runtime, "team.delegate")) == 2


def test_delegate_to_a_person_assigns_them_directly(runtime: Runtime) -> None:
    jira = runtime.sandbox.jira_state
    answer = _run(runtime, "delegate CPE-3301 to john.doe")
    assert answer.startswith("✅") and "assigned to *John Doe*" in answer
    assert jira.assignee_of("CPE-3301") == ACCOUNT["john.doe"] and ACCOUNT["john.doe"] in jira.watchers("CPE-3301")
    assert f"<@{JDOE}>" in _replies(runtime, "delegated")[0].text
    assert not [m for m in runtime.sandbox.slack_state.messages("C0CPETEAM") if m.text.startswith("📣")]
    assert _run(runtime, "delegate CPE-3301 to alice").startswith("❌ You can't delegate a ticket to yourself")
    assert "John Smith" in _run(runtime, "delegate CPE-3301 to john")  # ambiguous: the question


def test_round_robin_survives_a_restart(sandbox: Sandbox, sqlite_url: str) -> None:
    rt = Runtime.start(sandbox, sqlite_url, REMEDY_RETRY_DELAYS=[0], REMEDY_JIRA_TRIES=1)
    try:
        assert _run(rt, "delegate CPE-3301 to dev-team").startswith("✅")
    finally:
        rt.stop()
    rt = Runtime.start(sandbox, sqlite_url, REMEDY_RETRY_DELAYS=[0], REMEDY_JIRA_TRIES=1)  # fresh Redis too
    try:
        assert _run(rt, "delegate CPE-3445 to dev-team").startswith("✅")
        assert sandbox.jira_state.assignee_of("CPE-3445") == ACCOUNT["john.doe"]  # turn 2, not turn 1 again
    finally:
        rt.stop()


def test_turns_are_race_safe_and_a_retried_job_keeps_its_turn(runtime: Runtime) -> None:
    db: Database = runtime.services.db
    taken: dict[str, int] = {}

    def take(job: str) -> None:
        taken[job] = take_turn(db, "dev-team", job)

    threads = [threading.Thread(target=take, args=(f"job{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(taken.values()) == list(range(8))  # eight delegations at once: eight different turns
    assert {job: take_turn(db, "dev-team", job) for job in taken} == taken  # a retry does not move on
    assert take_turn(db, "cpe-leads", "job0") == 0  # each group has its own rotation
