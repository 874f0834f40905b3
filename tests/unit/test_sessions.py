"""Work sessions through the whole path: signed Slack requests → Bolt → RQ → Jira / Jamf / Slack
simulators. `start session`, `status`, `next` (and its button), `complete session` with "Post all",
restarts, the one-open-session rule, the lead's pending go/no-go first, and expiry by cron."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from remedy.db.models import WorkSession
from remedy.sandbox.run import HOME_CHANNEL, Sandbox
from remedy.sandbox.slack_records import Message
from remedy.sessions.plan import Item, fit
from remedy_cli.embedded import Runtime, Sent
from tests.slackview import block_texts, button, buttons
from workers.cron import SCHEDULE, tick

ALICE, SARAH = "U01ALICE", "U02SARAH"  # engineer, lead (remedy/defaults/team.yml)
MINUTE, HOUR = 60, 3600
EXPIRE = next(e for e in SCHEDULE if e.func == "workers.sessions.expire_sessions")
_LINE = re.compile(r"([✅⬜]) ~?\d+\. \*(CPE-\d+)\* (.+?) · (\d+) min")


def _answer(rt: Runtime, sent: Sent) -> tuple[str, list[dict[str, Any]]]:
    """What the user sees where the ⏳ was: the job's answer (text + blocks), else the ack."""
    view = rt.sandbox.slack_state.response_view(sent.response_url)
    return (view.text, view.blocks) if view else (sent.ack_text, [])


def _run(rt: Runtime, text: str, user: str = ALICE) -> tuple[str, list[dict[str, Any]]]:
    sent = rt.slash(text, user=user)
    rt.drain()
    return _answer(rt, sent)


def _press(rt: Runtime, btn: dict[str, Any], user: str = ALICE, message: Message | None = None) -> str:
    if message is None:
        sent = rt.press(btn, user=user, ephemeral=True)
    else:
        sent = rt.press(btn, user=user, channel=message.channel, message_ts=message.ts)
    rt.drain()
    return _answer(rt, sent)[0]


def _lines(blocks: list[dict[str, Any]]) -> list[tuple[bool, str, str, int]]:
    """The checklist as (done, ticket, label, minutes), in plan order."""
    return [(m[1] == "✅", m[2], m[3], int(m[4])) for m in _LINE.finditer(block_texts(blocks))]


def _card(rt: Runtime, user: str = ALICE) -> Message:
    """The checklist DM (edited in place, so it is always the first message of the DM)."""
    cards = [m for m in rt.sandbox.slack_state.dms_to(user) if "Work session" in m.text]
    assert cards, "no work-session DM"
    return cards[0]


def _thread_posts(rt: Runtime, key: str, contains: str) -> list[Message]:
    slack = rt.sandbox.slack_state
    parents = [m for m in slack.messages(HOME_CHANNEL) if key in m.text]
    assert len(parents) == 1, [p.text for p in parents]
    return [m for m in slack.replies(HOME_CHANNEL, parents[0].ts) if contains in m.text]


def _mine(rt: Runtime) -> None:
    # Seed: alice has CPE-3222 only; give her the other two so there is an order to get right.
    for key in ("CPE-3301", "CPE-3445"):
        assert _run(rt, f"assign {key} to alice")[0].startswith("✅")


def test_start_session_plans_tickets_in_priority_order_within_the_time_box(runtime: Runtime) -> None:
    _mine(runtime)
    queue = re.findall(r"\d+\. \*(CPE-\d+)\*", block_texts(_run(runtime, "priorities")[1]))
    text, blocks = _run(runtime, "start session 2h")
    assert text.startswith("🗓 Work session · 2h")
    plan = _lines(blocks)
    order = list(dict.fromkeys(key for _, key, _, _ in plan))
    assert order == queue == ["CPE-3222", "CPE-3445", "CPE-3301"]
    assert sum(minutes for *_, minutes in plan) <= 120 and not any(done for done, *_ in plan)
    # Phase-aware: Chrome is in Pilot with no Jamf policy yet, so the rollout steps come in the order
    # they can run; Zoom is in Investigation: its analysis steps, then the move to Plan.
    assert [label for _, key, label, _ in plan if key == "CPE-3222"] == [
        "Create jamf policy", "Deploy pilot", "Go/no-go for the next ring `rollout next`"]
    assert [label for _, key, label, _ in plan if key == "CPE-3301"][-1] == "Move to plan"
    assert _lines(_card(runtime).blocks) == plan  # the same checklist, privately in a DM


def test_what_does_not_fit_is_said(runtime: Runtime) -> None:
    _mine(runtime)
    _, blocks = _run(runtime, "start session 25m")
    assert [(key, minutes) for _, key, _, minutes in _lines(blocks)] == [("CPE-3222", 10), ("CPE-3222", 10)]
    told = block_texts(blocks)
    assert "Didn't fit in the time box: CPE-3222 Go/no-go for the next ring (10 min)" in told
    assert "CPE-3301 Move to plan (5 min)" in told  # a ticket's later steps wait for its earlier ones


def test_greedy_fit_skips_a_ticket_after_its_first_miss_but_not_other_tickets() -> None:
    def item(key: str, minutes: int) -> Item:
        return Item(key, "command", "move to plan", "move", "Move to plan", minutes)

    planned = fit([item("A-1", 10), item("A-1", 30), item("A-1", 5), item("B-2", 5)], 20)
    assert [(i.key, i.minutes) for i in planned.items] == [("A-1", 10), ("B-2", 5)]
    assert [(i.key, i.minutes) for i in planned.skipped] == [("A-1", 30), ("A-1", 5)]


def test_restart_between_start_session_and_next_keeps_the_session(sandbox: Sandbox, sqlite_url: str) -> None:
    first = Runtime.start(sandbox, sqlite_url, REMEDY_RETRY_DELAYS=[0], REMEDY_JIRA_TRIES=1)
    try:
        _, planned = _run(first, "start session 2h")
    finally:
        first.stop()
    rt = Runtime.start(sandbox, sqlite_url, REMEDY_RETRY_DELAYS=[0], REMEDY_JIRA_TRIES=1)  # a fresh Redis too
    try:
        text, blocks = _run(rt, "next")
        assert text == "Next: CPE-3222 Create jamf policy"
        assert "➡️ *Next* (1/3)" in block_texts(blocks) and "2h left" in block_texts(blocks)
        assert _press(rt, button(blocks, "Create jamf policy")).startswith("✅ Jamf policy for *CPE-3222* created")
        rt.sandbox.jamf_state.advance(20 * MINUTE)
        _, status = _run(rt, "status")
        assert _lines(status)[0][:2] == (True, "CPE-3222") and not any(d for d, *_ in _lines(status)[1:])
        assert "*1/3 done* · 1h40m left" in block_texts(status)
        assert _lines(_card(rt).blocks) == _lines(status)  # the DM checklist was edited in place
        assert len(rt.sandbox.slack_state.dms_to(ALICE)) == 1
        assert [label for *_, label, _ in _lines(planned)] == [label for *_, label, _ in _lines(status)]
    finally:
        rt.stop()


def test_a_second_start_is_refused_while_one_is_open(runtime: Runtime) -> None:
    _run(runtime, "start session 2h")
    text, _ = _run(runtime, "start session 1h")
    assert text.startswith("❌ You already have a work session open") and "`complete session`" in text
    with runtime.services.db.session() as s:
        assert len(s.scalars(select(WorkSession)).all()) == 1


def test_next_and_status_without_a_session_say_how_to_start(runtime: Runtime) -> None:
    for command in ("next", "status"):
        text, _ = _run(runtime, command)
        assert "no work session open" in text and "`start session 2h`" in text


def _pending_card(rt: Runtime) -> None:
    """A go/no-go card for CPE-3222 → Phase 1, as test_rollout makes one."""
    for command in ("create jamf policy CPE-3222", "deploy pilot CPE-3222"):
        assert _run(rt, command)[0].startswith("✅")
    rt.sandbox.jamf_state.advance(26 * HOUR)
    assert _run(rt, "rollout next CPE-3222")[0].startswith("✅")


def test_a_lead_decides_pending_approvals_first(runtime: Runtime) -> None:
    _pending_card(runtime)
    assert _run(runtime, "assign CPE-3301 to sarah")[0].startswith("✅")
    _, blocks = _run(runtime, "start session 1h", user=SARAH)
    plan = _lines(blocks)
    assert plan[0] == (False, "CPE-3222", "Decide go/no-go on CPE-3222 → Phase 1", 5)
    assert {key for _, key, _, _ in plan[1:]} == {"CPE-3301"}
    # Alice's own plan has no `rollout next` for CPE-3222 while its card waits on a lead.
    _, alice = _run(runtime, "start session 2h")
    assert [label for _, key, label, _ in _lines(alice) if key == "CPE-3222"] == []
    _, nxt = _run(runtime, "next", user=SARAH)
    assert "Decide go/no-go on CPE-3222 → Phase 1" in block_texts(nxt) and "Soak time" in block_texts(nxt)
    assert _press(runtime, button(nxt, "Go"), user=SARAH).startswith("✅ Go")
    assert _lines(_run(runtime, "status", user=SARAH)[1])[0][0] is True


def test_complete_session_confirms_then_posts_each_update_once(runtime: Runtime) -> None:
    _mine(runtime)
    _run(runtime, "start session 2h")
    _, nxt = _run(runtime, "next")
    _press(runtime, button(nxt, "Create jamf policy"))
    assert _run(runtime, "move CPE-3301 to plan")[0].startswith("✅")  # typed, not via `next`: still checked
    comments = {k: len(runtime.sandbox.jira_state.comments(k)) for k in ("CPE-3222", "CPE-3301", "CPE-3445")}

    text, blocks = _run(runtime, "complete session")
    shown = block_texts(blocks)
    assert text == "✅ Work session complete" and "2 of 8 planned actions done" in shown
    assert "CPE-3222: Jamf policy 1 created" in shown and "CPE-3301: moved Investigation → Plan" in shown
    assert "*CPE-3222* · Jira comment" in shown and "*CPE-3301* · Jira comment" in shown
    assert "CPE-3445" not in shown.split("Stakeholder updates")[1]  # untouched: no update
    assert comments == {k: len(runtime.sandbox.jira_state.comments(k)) for k in comments}  # nothing posted yet

    card = _card(runtime)  # the DM checklist became the confirmation
    post, cancel = button(card.blocks, "Post all"), button(card.blocks, "Cancel")  # the card is edited later
    answers = [_press(runtime, post, message=card), _press(runtime, post, message=card)]  # a double click
    assert all(a.startswith("✅ Posted 2 Jira comments") for a in answers)
    after = {k: len(runtime.sandbox.jira_state.comments(k)) for k in comments}
    assert after == {"CPE-3222": comments["CPE-3222"] + 1, "CPE-3301": comments["CPE-3301"] + 1,
                     "CPE-3445": comments["CPE-3445"]}
    assert "Jamf policy 1 created" in str(runtime.sandbox.jira_state.comments("CPE-3222")[-1])
    for key in ("CPE-3222", "CPE-3301"):
        assert len(_thread_posts(runtime, key, "Session update")) == 1
    assert "updates posted on CPE-3222, CPE-3301" in block_texts(_card(runtime).blocks)
    assert "already posted" in _press(runtime, cancel, message=card)
    assert "no work session open" in _run(runtime, "next")[0]


def test_cancel_posts_nothing(runtime: Runtime) -> None:
    _run(runtime, "start session 1h")
    assert _run(runtime, "move CPE-3301 to plan")[0].startswith("✅")
    _, blocks = _run(runtime, "complete session")
    before = len(runtime.sandbox.jira_state.comments("CPE-3301"))
    assert _press(runtime, button(blocks, "Cancel")).startswith("✅ Cancelled")
    assert "cancelled" in _press(runtime, button(blocks, "Post all"))
    assert len(runtime.sandbox.jira_state.comments("CPE-3301")) == before


def _cron(rt: Runtime) -> None:
    tick(rt.services.queue, rt.sandbox.now(), [EXPIRE])
    rt.drain()


def test_a_session_left_open_expires_with_a_summary(runtime: Runtime) -> None:
    _run(runtime, "start session 1h")
    assert _run(runtime, "create jamf policy CPE-3222")[0].startswith("✅")
    runtime.sandbox.jamf_state.advance(75 * MINUTE)  # past the time box, within the grace period
    _cron(runtime)
    assert "time's up (15m over)" in block_texts(_run(runtime, "status")[1])
    runtime.sandbox.jamf_state.advance(20 * MINUTE)
    _cron(runtime)
    dms = runtime.sandbox.slack_state.dms_to(ALICE)
    assert len(dms) == 2 and dms[1].text.startswith("⌛ Your work session ended at 10:00 UTC")
    assert "1 of 3 planned actions done" in dms[1].text and "CPE-3222: Jamf policy 1 created" in dms[1].text
    assert "Work session expired" in block_texts(_card(runtime).blocks)
    assert not [b for b in buttons(_card(runtime).blocks)]  # nothing left to press on a closed session
    runtime.sandbox.jamf_state.advance(10 * MINUTE)
    _cron(runtime)  # the next sweep finds nothing open: no second DM
    assert len(runtime.sandbox.slack_state.dms_to(ALICE)) == 2
    with runtime.services.db.session() as s:
        assert s.scalars(select(WorkSession.status)).one() == "expired"
    assert "no work session open" in _run(runtime, "next")[0]
    assert _run(runtime, "start session 1h")[0].startswith("🗓")  # the slot is free again
