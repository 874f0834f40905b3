"""The ring rollout through the whole path: signed Slack requests → Bolt → RQ → Jira and Jamf
simulators → Slack simulator. `create jamf policy`, `deploy pilot`, `rollout next` and the
go/no-go card (role refusal, first press wins, stale re-check, No-go reason, Hold)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from remedy.db.models import AuditEvent, RolloutDecision
from remedy.queue import Origin
from remedy.remediation import store
from remedy.sandbox.run import HOME_CHANNEL
from remedy_cli.embedded import Runtime, Sent
from tests.slackview import block_texts, button, only_thread

ALICE, SARAH = "U01ALICE", "U02SARAH"  # engineer, lead (remedy/defaults/team.yml)
PILOT, PHASE1 = 1, 2  # the simulator's group ids: "Pilot - Chrome", "Phase 1"
HOUR = 3600


def _answer(rt: Runtime, sent: Sent) -> str:
    view = rt.sandbox.slack_state.response_view(sent.response_url)
    return view.text if view else ""


def _run(rt: Runtime, text: str, user: str = ALICE) -> str:
    sent = rt.slash(text, user=user)
    rt.drain()
    return _answer(rt, sent) or sent.ack_text


def _policies(rt: Runtime) -> dict[str, Any]:
    return {p.name: p for p in rt.sandbox.jamf_state.policies.values()}


def _card(rt: Runtime) -> Any:
    cards = [m for m in only_thread(rt.sandbox.slack_state)[1:] if "Go / No-go" in m.text or "Go*" in m.text
             or "No-go" in block_texts(m.blocks)]
    assert cards, "no go/no-go card in the thread"
    return cards[-1]


def _deployed(rt: Runtime, soak_hours: float = 26) -> None:
    assert _run(rt, "create jamf policy CPE-3222").startswith("✅")
    assert _run(rt, "deploy pilot CPE-3222").startswith("✅")
    rt.sandbox.jamf_state.advance(soak_hours * HOUR)


def _audit_actions(rt: Runtime) -> list[str]:
    with rt.services.db.session() as s:
        return list(s.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def test_create_policy_is_derived_from_the_ticket_and_a_rerun_updates(runtime: Runtime) -> None:
    answer = _run(runtime, "create jamf policy CPE-3222")
    assert answer.startswith("✅") and "created" in answer
    policies = _policies(runtime)
    main, rollback = policies["CPE-3222 Chrome 120.0.6099.109"], policies["CPE-3222 Chrome rollback to 119.0.6045.199"]
    assert (main.enabled, main.group_ids, main.packages[0][0], main.trigger_checkin) == (False, [PILOT], 1, True)
    assert (rollback.enabled, rollback.packages[0][0]) == (False, 4)
    thread = "\n".join(block_texts(m.blocks) for m in only_thread(runtime.sandbox.slack_state))
    assert "GoogleChrome-120.0.6099.109.pkg" in thread and "disabled until `deploy pilot`" in thread
    assert "Pilot (Pilot - Chrome, ≥ 90%" in thread and "Phase 1" in thread

    again = _run(runtime, "create jamf policy CPE-3222")
    assert again.startswith("✅") and "updated" in again
    assert len(runtime.sandbox.jamf_state.policies) == 2  # found by name, not duplicated
    assert _audit_actions(runtime).count("jamf.policy") == 2


def test_deploy_pilot_scopes_enables_and_the_pilot_climbs(runtime: Runtime) -> None:
    assert _run(runtime, "deploy pilot CPE-3222").startswith("❌")  # no policy yet: told what to run
    _deployed(runtime)
    main = _policies(runtime)["CPE-3222 Chrome 120.0.6099.109"]
    assert main.enabled and main.group_ids == [PILOT]
    known = store.load(runtime.services.db, "CPE-3222")
    assert known is not None and known.active is not None and known.active.name == "pilot"
    assert runtime.sandbox.jira_state.status_of("CPE-3222") == "Pilot"
    assert "already deployed" in _run(runtime, "deploy pilot CPE-3222")


def test_refusals_say_what_to_do(runtime: Runtime) -> None:
    assert "create jamf policy CPE-3222" in _run(runtime, "rollout next CPE-3222")
    _run(runtime, "create jamf policy CPE-3222")
    assert "deploy pilot CPE-3222" in _run(runtime, "rollout next CPE-3222")
    runtime.sandbox.jamf_state.delete_static_group(5)  # without the generic "Pilot", Zoom has no pilot group
    zoom = _run(runtime, "create jamf policy CPE-3301")
    assert zoom.startswith("❌") and "“Pilot - Zoom” or “Pilot”" in zoom
    viewer = runtime.slash("create jamf policy CPE-3222", user="U0STRANGER")
    assert viewer.ack_text.startswith("🔒")


def test_job_checks_the_role_again(runtime: Runtime) -> None:
    # A job that reaches the worker without the bot's check (old button, forged enqueue) is refused too.
    url = runtime.sandbox.slack_state.new_response_url(HOME_CHANNEL, "U0STRANGER")
    origin = Origin(user_id="U0STRANGER", channel_id=HOME_CHANNEL, response_url=url, text="deploy pilot CPE-3222")
    runtime.services.queue.enqueue("workers.rollout.deploy_pilot", {"key": "CPE-3222"}, origin)
    runtime.drain()
    view = runtime.sandbox.slack_state.response_view(url)
    assert view is not None and view.text.startswith("❌ 🔒") and "auth.refused" in _audit_actions(runtime)


def _ask(rt: Runtime) -> Any:
    assert _run(rt, "rollout next CPE-3222").startswith("✅")
    card = _card(rt)
    text = block_texts(card.blocks)
    assert "CPE-3222 → Phase 1" in text and "Soak time" in text and "Failures" in text
    return card


def test_go_expands_scope_moves_ticket_and_first_press_wins(runtime: Runtime) -> None:
    _deployed(runtime)
    card = _ask(runtime)
    go = button(card.blocks, "Go")
    refused = runtime.press(go, user=ALICE, message_ts=card.ts)  # an engineer may ask, not decide
    runtime.drain()
    assert "Only leads and admins" in _answer(runtime, refused) and "rollout.refused" in _audit_actions(runtime)
    assert _policies(runtime)["CPE-3222 Chrome 120.0.6099.109"].group_ids == [PILOT]

    first = runtime.press(go, user=SARAH, message_ts=card.ts)
    second = runtime.press(go, user=SARAH, message_ts=card.ts)  # a double click
    runtime.drain()
    main, rollback = (_policies(runtime)[n] for n in ("CPE-3222 Chrome 120.0.6099.109",
                                                      "CPE-3222 Chrome rollback to 119.0.6045.199"))
    assert main.group_ids == [PILOT, PHASE1] and rollback.group_ids == [PILOT, PHASE1] and not rollback.enabled
    assert runtime.sandbox.jira_state.status_of("CPE-3222") == "Rollout"
    answers = [_answer(runtime, first), _answer(runtime, second)]
    assert sum(a.startswith("✅ Go") for a in answers) == 1
    assert sum("Already decided by <@U02SARAH>" in a for a in answers) == 1
    decided = runtime.sandbox.slack_state.message(HOME_CHANNEL, card.ts)
    assert "✅ *Go* for *Phase 1* by <@U02SARAH>" in block_texts(decided.blocks)
    assert _audit_actions(runtime).count("jamf.rollout.go") == 1


def test_a_stale_card_is_rechecked_instead_of_obeyed(runtime: Runtime) -> None:
    _deployed(runtime)
    card = _ask(runtime)
    runtime.sandbox.jamf_state.advance(5 * HOUR)  # older than REMEDY_DECISION_MAX_AGE_HOURS (4)
    sent = runtime.press(button(card.blocks, "Go"), user=SARAH, message_ts=card.ts)
    runtime.drain()
    assert _policies(runtime)["CPE-3222 Chrome 120.0.6099.109"].group_ids == [PILOT]  # not expanded
    assert "Not expanded" in _answer(runtime, sent) and "h old" in _answer(runtime, sent)
    old = runtime.sandbox.slack_state.message(HOME_CHANNEL, card.ts)
    assert "numbers changed" in block_texts(old.blocks)
    fresh = _card(runtime)
    assert fresh.ts != card.ts
    runtime.press(button(fresh.blocks, "Go"), user=SARAH, message_ts=fresh.ts)
    runtime.drain()
    assert _policies(runtime)["CPE-3222 Chrome 120.0.6099.109"].group_ids == [PILOT, PHASE1]


def test_no_go_asks_why_and_tells_jira(runtime: Runtime) -> None:
    _deployed(runtime)
    card = _ask(runtime)
    comments_before = len(runtime.sandbox.jira_state.comments("CPE-3222"))
    runtime.press(button(card.blocks, "No-go"), user=SARAH, message_ts=card.ts)
    runtime.drain()
    modal = runtime.sandbox.slack_state.modals[-1]
    assert modal["callback_id"] == "remedy_nogo"
    values = {"reason": {"text": {"type": "plain_text_input", "value": "Finance Macs crash on launch"}}}
    assert runtime.submit_view(modal, values, user=SARAH).status == 200
    runtime.drain()
    comments = runtime.sandbox.jira_state.comments("CPE-3222")
    assert len(comments) == comments_before + 1 and "Finance Macs crash on launch" in str(comments[-1])
    decided = runtime.sandbox.slack_state.message(HOME_CHANNEL, card.ts)
    assert "🛑 *No-go*" in block_texts(decided.blocks)
    assert _policies(runtime)["CPE-3222 Chrome 120.0.6099.109"].group_ids == [PILOT]
    with runtime.services.db.session() as s:
        row = s.scalars(select(RolloutDecision)).one()
        assert (row.status, row.reason, row.decided_by) == ("no-go", "Finance Macs crash on launch", SARAH)


def test_hold_and_a_newer_card_replaces_the_old(runtime: Runtime) -> None:
    _deployed(runtime)
    first = _ask(runtime)
    old_go = button(first.blocks, "Go")  # the simulator edits the message in place
    second = _ask(runtime)
    replaced = runtime.sandbox.slack_state.message(HOME_CHANNEL, first.ts)
    assert "Replaced by a newer" in block_texts(replaced.blocks)
    late = runtime.press(old_go, user=SARAH, message_ts=first.ts)
    runtime.drain()
    assert "replaced by a newer one" in _answer(runtime, late)
    runtime.press(button(second.blocks, "Hold"), user=SARAH, message_ts=second.ts)
    runtime.drain()
    assert "⏸ *Hold*" in block_texts(runtime.sandbox.slack_state.message(HOME_CHANNEL, second.ts).blocks)
    assert _policies(runtime)["CPE-3222 Chrome 120.0.6099.109"].group_ids == [PILOT]


def test_a_forged_button_is_refused(runtime: Runtime) -> None:
    _deployed(runtime)
    card = _ask(runtime)
    go = button(card.blocks, "Go")
    value = json.loads(go["value"])
    forged = {**go, "value": json.dumps({**value, "ticket": "CPE-3445"})}
    sent = runtime.press(forged, user=SARAH, message_ts=card.ts)
    runtime.drain()
    assert "does not match" in _answer(runtime, sent)
    assert _policies(runtime)["CPE-3222 Chrome 120.0.6099.109"].group_ids == [PILOT]


def test_token_expiry_mid_rollout_is_invisible(runtime: Runtime) -> None:
    assert _run(runtime, "create jamf policy CPE-3222").startswith("✅")
    runtime.sandbox.jamf_state.expire_tokens()  # Jamf forgets every token between two commands
    assert _run(runtime, "deploy pilot CPE-3222").startswith("✅")
    assert _policies(runtime)["CPE-3222 Chrome 120.0.6099.109"].enabled


def test_concurrent_creates_make_one_policy(runtime: Runtime) -> None:
    # Two engineers run `create jamf policy` at once: the loser of the create race meets Jamf's 409
    # ("Duplicate name"), finds the winner's policy by name and updates it.
    from concurrent.futures import ThreadPoolExecutor

    from remedy.remediation.policies import ensure_policy

    jamf = runtime.services.jamf
    with ThreadPoolExecutor(6) as pool:
        made = list(pool.map(lambda _: ensure_policy(jamf, "CPE-3222 race", 1, [PILOT]), range(6)))
    assert len({m.policy_id for m in made}) == 1 and sum(m.created for m in made) == 1
    assert [p.name for p in runtime.sandbox.jamf_state.policies.values()] == ["CPE-3222 race"]
