"""`batch comment` through the real app: a card first and nothing written until Confirm; 200 tickets
through 429s and two 403s with nothing lost or doubled, the exact partial report, and a Retry that
redoes only the failed ones; second, stale and forged presses change nothing."""

from __future__ import annotations

from sqlalchemy import select

from remedy.db.models import AuditEvent
from remedy_cli.embedded import Runtime
from tests.slackview import block_texts, button
from tests.unit.test_bulk_support import (
    ALICE,
    CHANNEL,
    JOHN,
    SARAH,
    VIEWER,
    card_text,
    comment_posts,
    last_card,
    marked,
    new_epic,
    new_story,
    press,
    rt,
    run,
)

__all__ = ["rt"]  # the fixture, imported for these tests


def test_two_hundred_tickets_with_429s_and_two_403s(rt: Runtime) -> None:
    jira = rt.sandbox.jira_state
    epic = new_epic(jira)
    keys = [new_story(jira, epic, n, assignee=("alice", "john.doe")[n % 2]) for n in range(200)]
    denied = [keys[17], keys[141]]
    for key in denied:
        jira.forbid(key, ["POST"])
    said = run(rt, f'batch comment "Weekly security update: {{phase}}, owner {{assignee}}" on epic {epic}',
               user=SARAH)
    assert "Post to 200 tickets?" in said
    card = last_card(rt)
    assert "Post to 200 tickets?" in card_text(rt, card) and "…and 160 more" in card_text(rt, card)
    assert all(comment_posts(jira, k) == 0 for k in keys)  # nothing before Confirm

    jira.fail_next(429, times=6, retry_after=1, path_contains="/comment")
    press(rt, card, "Confirm", user=SARAH)

    final = card_text(rt, card)
    assert f"198 posted, 2 failed: {denied[0]} (403), {denied[1]} (403), retry?" in final
    history = [text for text, _ in rt.sandbox.slack_state.message(CHANNEL, card.ts).history]
    assert any("/200 posted…" in text for text in history)  # progress shown by editing the card
    ok = [k for k in keys if k not in denied]
    assert all(len(marked(jira, k)) == 1 for k in ok)  # nothing lost, nothing doubled
    assert all(marked(jira, k) == [] for k in denied)
    first = marked(jira, keys[0])[0]["text"]
    assert first.startswith("Weekly security update: Pilot, owner Alice") and "via remedy" in first
    assert marked(jira, keys[1])[0]["text"].startswith("Weekly security update: Pilot, owner John Doe")
    refused = [r for r in jira.requests if r.status == 429]
    assert len(refused) == 6

    for key in denied:
        jira.allow(key)
    writes_before = {k: len(jira.writes(k)) for k in ok}
    press(rt, card, "Retry 2 failed", user=SARAH)
    assert "✅ 200 posted" in card_text(rt, card)
    assert all(len(marked(jira, k)) == 1 for k in keys)
    assert {k: len(jira.writes(k)) for k in ok} == writes_before  # the retry touched only the failed two
    with rt.services.db.session() as s:
        audited = s.scalars(select(AuditEvent.target).where(AuditEvent.action == "jira.comment")).all()
    assert sorted(audited) == sorted(keys)  # one audit event per ticket, across both runs


def test_nothing_is_written_until_confirm_and_cancel_writes_nothing(rt: Runtime) -> None:
    jira = rt.sandbox.jira_state
    said = run(rt, 'batch comment "Pilot starts Monday" on CPE-3222 CPE-3445')
    assert "Post to 2 tickets?" in said and "nothing is written before that" in said
    card = last_card(rt)
    text = card_text(rt, card)
    assert "CPE-3222" in text and "CPE-3445" in text and "Pilot starts Monday" in text
    rt.drain()
    assert comment_posts(jira, "CPE-3222") == comment_posts(jira, "CPE-3445") == 0  # never pressed: nothing
    confirm = button(card.blocks, "Confirm")
    assert "Cancelled" in press(rt, card, "Cancel")
    assert "Cancelled by <@U01ALICE>: nothing was posted" in card_text(rt, card)
    assert "was cancelled" in press(rt, card, confirm)  # a stale button on a client that did not refresh
    assert comment_posts(jira, "CPE-3222") == comment_posts(jira, "CPE-3445") == 0


def test_second_press_forged_press_and_wrong_people_change_nothing(rt: Runtime) -> None:
    jira = rt.sandbox.jira_state
    run(rt, 'batch comment "Rollout update" on CPE-3222 CPE-3445')
    card = last_card(rt)
    confirm = button(card.blocks, "Confirm")
    assert "engineer" in press(rt, card, "Confirm", user=VIEWER)  # refused at the edge
    assert "needs the *lead* role" in press(rt, card, "Confirm", user=JOHN)  # not his card, not a lead
    assert comment_posts(jira, "CPE-3222") == 0
    press(rt, card, "Confirm")
    assert "✅ 2 posted" in card_text(rt, card)
    assert "is done" in press(rt, card, confirm)  # the impatient second press
    assert len(marked(jira, "CPE-3222")) == len(marked(jira, "CPE-3445")) == 1
    rt.press({"action_id": "remedy_bulk:confirm", "value": '{"op": 999}'}, user=ALICE, message_ts=card.ts)
    rt.press({"action_id": "remedy_bulk:confirm", "value": "not json"}, user=ALICE, message_ts=card.ts)
    rt.drain()
    answers = "\n".join(e.text for e in rt.sandbox.slack_state.ephemerals)
    assert "does not match a bulk operation" in answers and "malformed" in answers
    with rt.services.db.session() as s:
        refusals = s.scalars(select(AuditEvent.action).where(AuditEvent.action.in_(
            ["bulk.refused", "auth.refused"]))).all()
    assert sorted(refusals) == ["auth.refused", "bulk.refused", "bulk.refused"]


def test_a_lead_may_confirm_someone_elses_card_and_template_errors_are_explained(rt: Runtime) -> None:
    run(rt, 'batch comment "Compliance is {compliance}" on CPE-3445')
    press(rt, last_card(rt), "Confirm", user=SARAH)
    comment = marked(rt.sandbox.jira_state, "CPE-3445")[0]["text"]
    slack = rt.sandbox.jamf_state.compliance("com.tinyspeck.slackmacgap", "4.36.140")
    assert comment.startswith(f"Compliance is {100 * slack.compliant / slack.total:.1f}%")
    said = run(rt, 'batch comment "Owner: {owner}" on CPE-3445')
    assert "can't fill `{owner}`" in said
    assert "does not exist" in run(rt, 'batch comment "x" on CPE-99999')


def test_unknown_epic_and_non_epic_and_focus_table(rt: Runtime) -> None:
    said = run(rt, "focus epic CPE-123")
    assert "3 stories" in said
    for line in ("CPE-3222    Pilot", "CPE-3301    Investigation", "CPE-3445    Rollout"):
        assert line in said
    assert "CPE-3301" in said.split("CPE-3445")[1]  # the Slack rollout is blocked by the Zoom ticket
    slack = rt.sandbox.jamf_state.compliance("com.tinyspeck.slackmacgap", "4.36.140")
    assert f"{100 * slack.compliant / slack.total:.1f}%" in said
    said = run(rt, 'batch comment "Weekly update"')  # no scope: the focus epic
    assert "Post to 3 tickets?" in said
    assert "(epic CPE-123)" in block_texts(last_card(rt).blocks)
    assert "not an epic" in run(rt, "focus epic CPE-3222")
    assert "not found" in run(rt, "focus epic CPE-99999").lower()
