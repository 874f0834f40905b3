"""One-click Jira actions through the whole path: signed Slack request → Bolt → RQ → Jira
simulator → Slack simulator, asserting Jira's resulting state and what the thread shows."""

from __future__ import annotations

import json
from itertools import pairwise

from remedy.audit import verify
from remedy_cli.embedded import Runtime, Sent
from tests.slackview import block_texts, button, only_thread

CHANNEL = "C0CPETEAM"


def _thread_text(rt: Runtime) -> str:
    return "\n".join(m.text + "\n" + block_texts(m.blocks) for m in only_thread(rt.sandbox.slack_state))


def _answer(rt: Runtime, sent: Sent) -> str:
    view = rt.sandbox.slack_state.response_view(sent.response_url)
    return view.text if view else ""


def test_comment_posts_adf_once_and_replies_in_thread(runtime: Runtime) -> None:
    jira = runtime.sandbox.jira_state
    before = len(jira.comments("CPE-3222"))
    sent = runtime.slash('comment CPE-3222 "Pilot at 94%, *no* regressions"')
    runtime.drain()
    comments = jira.comments("CPE-3222")
    assert len(comments) == before + 1
    assert comments[-1]["body"]["type"] == "doc"  # ADF, as Jira Cloud requires
    assert "Pilot at 94%" in json.dumps(comments[-1]["body"]) and "Alice Martin, via remedy" in json.dumps(
        comments[-1]["body"])
    assert "commented on *CPE-3222*" in _thread_text(runtime)
    assert _answer(runtime, sent).startswith("✅")


def test_move_walks_the_workflow_creates_subtasks_once(runtime: Runtime) -> None:
    jira = runtime.sandbox.jira_state
    runtime.slash("work CPE-3301")
    runtime.drain()
    sent = runtime.slash("move CPE-3301 to plan")
    runtime.drain()
    assert jira.status_of("CPE-3301") == "Plan"
    subtasks = [s.summary for s in jira.subtasks("CPE-3301")]
    assert subtasks.count("Draft rollout timeline") == 1 and "Prepare user communication" in subtasks
    assert "Investigation → *Plan*" in _thread_text(runtime) and "Subtasks created" in _thread_text(runtime)
    assert _answer(runtime, sent).startswith("✅")

    back = runtime.slash("move CPE-3301 to investigation")  # back one step: no exit check on the way back
    runtime.drain()
    assert jira.status_of("CPE-3301") == "Investigation" and _answer(runtime, back).startswith("✅")


def test_move_is_refused_with_the_reason(runtime: Runtime) -> None:
    jira = runtime.sandbox.jira_state
    runtime.slash("move CPE-3301 to plan")
    runtime.drain()
    sent = runtime.slash("move CPE-3301 to build & test")  # Plan's subtasks are still open
    runtime.drain()
    answer = _answer(runtime, sent)
    assert answer.startswith("❌") and "can't leave Plan" in answer and "open subtask" in answer
    assert jira.status_of("CPE-3301") == "Plan"


def test_retried_move_after_crash_creates_no_twin_subtasks(runtime: Runtime) -> None:
    jira = runtime.sandbox.jira_state
    jira.fail_next(503, times=2, path_contains="/comment")  # unrelated noise must not matter
    # Crash point: the second subtask POST fails once (as if the worker died there); RQ retries the job.
    jira.fail_next(500, times=1, path_contains="/rest/api/3/issue")
    runtime.slash("move CPE-3301 to plan")
    runtime.drain()
    subtasks = [s.summary for s in jira.subtasks("CPE-3301")]
    assert sorted(subtasks) == sorted(set(subtasks)) and "Draft rollout timeline" in subtasks


def test_assign_resolves_people_and_asks_when_ambiguous(runtime: Runtime) -> None:
    jira = runtime.sandbox.jira_state
    runtime.slash("assign CPE-3222 to john.doe")
    runtime.drain()
    assert jira.assignee_of("CPE-3222") == "5b10a0effa615349cb016cd8"
    ambiguous = runtime.slash("assign CPE-3222 to john")
    runtime.drain()
    answer = _answer(runtime, ambiguous)
    assert answer.startswith("❌") and "John Smith" in answer and "John Doe" in answer
    unknown = runtime.slash("assign CPE-3222 to nobody.here")
    runtime.drain()
    assert "can't find" in _answer(runtime, unknown)
    assert jira.assignee_of("CPE-3222") == "5b10a0effa615349cb016cd8"


def test_priority_sets_jira_and_records_the_override(runtime: Runtime) -> None:
    runtime.slash("priority CPE-3301 P1 because CVE 9.1 in the wild")
    runtime.drain()
    assert runtime.sandbox.jira_state.priority_of("CPE-3301") == "Highest"
    assert "because CVE 9.1 in the wild" in _thread_text(runtime)


def test_add_blocker_links_in_the_right_direction(runtime: Runtime) -> None:
    runtime.slash("add blocker CPE-3222 CPE-3301")
    runtime.drain()
    runtime.slash("work CPE-3222")
    runtime.drain()
    card = only_thread(runtime.sandbox.slack_state)[-1]
    assert "⛔ blocked by CPE-3301" in block_texts(card.blocks)


def test_watch_adds_the_user_as_watcher(runtime: Runtime) -> None:
    runtime.slash("watch CPE-3445")
    runtime.drain()
    assert "5b10a2844c20165700ede21a" in runtime.sandbox.jira_state.watchers("CPE-3445")


def test_draft_then_post_button_posts_once(runtime: Runtime) -> None:
    jira = runtime.sandbox.jira_state
    before = len(jira.comments("CPE-3222"))
    sent = runtime.slash("draft comment CPE-3222")
    runtime.drain()
    card = runtime.sandbox.slack_state.response_view(sent.response_url)
    assert card is not None and "Draft comment for CPE-3222" in block_texts(card.blocks)
    post = button(card.blocks, "Post")
    runtime.press(post, ephemeral=True)
    runtime.press(post, ephemeral=True)  # impatient double press
    runtime.drain()
    assert len(jira.comments("CPE-3222")) == before + 1
    assert "Status update on CPE-3222" in json.dumps(jira.comments("CPE-3222")[-1]["body"])


def test_unknown_ticket_forbidden_and_jira_down(runtime: Runtime) -> None:
    jira = runtime.sandbox.jira_state
    missing = runtime.slash('comment CPE-9999 "hi"')
    runtime.drain()
    assert "CPE-9999 not found" in _answer(runtime, missing)
    jira.forbid("CPE-3445")
    denied = runtime.slash("priority CPE-3445 P2 because vendor delay")
    runtime.drain()
    assert _answer(runtime, denied).startswith("❌") and "permission" in _answer(runtime, denied).lower()
    jira.fail_next(503, times=20)
    down = runtime.slash("watch CPE-3222")
    runtime.drain()
    view = runtime.sandbox.slack_state.response_view(down.response_url)
    assert view is not None and view.text.startswith("❌") and "Retry" in block_texts(view.blocks)


def test_every_write_is_audited(runtime: Runtime) -> None:
    runtime.slash('comment CPE-3222 "one"')
    runtime.slash("watch CPE-3222")
    runtime.drain()
    result = verify(runtime.services.db)
    assert result.ok and result.checked >= 2


def test_move_jira_does_not_allow_says_what_is_possible(runtime: Runtime) -> None:
    runtime.sandbox.jira_state.forbid("CPE-3301")  # no transition permission: Jira lists none
    sent = runtime.slash("move CPE-3301 to plan")
    runtime.drain()
    answer = _answer(runtime, sent)
    assert answer.startswith("❌") and "doesn't allow" in answer and "Possible moves: none" in answer


def test_rate_limit_storm_is_waited_out_and_applied_once(sandbox, sqlite_url) -> None:  # type: ignore[no-untyped-def]
    rt = Runtime.start(sandbox, sqlite_url, REMEDY_RETRY_DELAYS=[0], REMEDY_JIRA_TRIES=4)
    try:
        jira = sandbox.jira_state
        before = len(jira.comments("CPE-3222"))
        jira.fail_next(429, times=3, retry_after=1, path_contains="/comment")
        sent = rt.slash('comment CPE-3222 "after the storm"')
        rt.drain()
        assert len(jira.comments("CPE-3222")) == before + 1
        attempts = [r for r in jira.requests if r.method == "POST" and r.path.endswith("/comment")]
        assert [r.status for r in attempts] == [429, 429, 429, 201]
        gaps = [b.at - a.at for a, b in pairwise(attempts)]
        assert all(gap >= 0.9 for gap in gaps)  # Retry-After: 1 honoured, no hot loop
        assert _answer(rt, sent).startswith("✅")
    finally:
        rt.stop()


def test_edit_button_opens_the_draft_and_saving_replaces_it(runtime: Runtime) -> None:
    slack = runtime.sandbox.slack_state
    sent = runtime.slash("draft comment CPE-3301 about the vendor delay")
    runtime.drain()
    card = slack.response_view(sent.response_url)
    assert card is not None and "about the vendor delay" in block_texts(card.blocks)
    edit = runtime.press(button(card.blocks, "Edit"), ephemeral=True)
    runtime.drain()
    modal = slack.modals[-1]
    assert modal["blocks"][0]["element"]["initial_value"].startswith("Status update on CPE-3301")
    saved = runtime.submit_view(modal, {"body": {"text": {"type": "plain_text_input",
                                                          "value": "Vendor promised a fix by Friday."}}})
    assert saved.status == 200 and saved.body == {}
    runtime.drain()
    shown = slack.response_view(edit.response_url)
    assert shown is not None and "Vendor promised a fix by Friday." in block_texts(shown.blocks)
    runtime.slash("post comment CPE-3301")
    runtime.drain()
    assert "Vendor promised a fix by Friday." in runtime.sandbox.jira_state.comments("CPE-3301")[-1]["text"]


def test_discard_draft_then_post_has_nothing_to_post(runtime: Runtime) -> None:
    runtime.slash("draft comment CPE-3222")
    runtime.drain()
    runtime.slash("discard draft CPE-3222")
    runtime.drain()
    sent = runtime.slash("post comment CPE-3222")
    runtime.drain()
    assert "no draft for CPE-3222" in _answer(runtime, sent)


def test_card_button_moves_the_ticket(runtime: Runtime) -> None:
    runtime.slash("work CPE-3301")
    runtime.drain()
    card = only_thread(runtime.sandbox.slack_state)[1]
    runtime.press(button(card.blocks, "Move to plan"), message_ts=card.ts)
    runtime.drain()
    assert runtime.sandbox.jira_state.status_of("CPE-3301") == "Plan"


def test_blocked_lists_what_waits_on_what(runtime: Runtime) -> None:
    sent = runtime.slash("blocked", user="U04JDOE")  # john.doe's CPE-3445 waits on CPE-3301
    runtime.drain()
    view = runtime.sandbox.slack_state.response_view(sent.response_url)
    assert view is not None and "CPE-3445" in block_texts(view.blocks) and "CPE-3301" in block_texts(view.blocks)


def test_priority_by_jira_name(runtime: Runtime) -> None:
    runtime.slash("priority CPE-3445 lowest because cosmetic only")
    runtime.drain()
    assert runtime.sandbox.jira_state.priority_of("CPE-3445") == "Lowest"


def test_add_watchers_names_people_and_asks_about_unknown_ones(runtime: Runtime) -> None:
    jira = runtime.sandbox.jira_state
    runtime.slash("watch CPE-3445 sarah john.smith")
    runtime.drain()
    assert {"5b10ac8d82e05b22cc7d4ef5", "5b109f2e9729b51b54dc274d"} <= set(jira.watchers("CPE-3445"))
    assert "as watchers of *CPE-3445*" in _thread_text(runtime)
    unknown = runtime.slash("add watchers CPE-3445 ghost.person")
    runtime.drain()
    assert "can't find" in _answer(runtime, unknown)


def test_moving_several_phases_walks_the_path(runtime: Runtime) -> None:
    jira = runtime.sandbox.jira_state
    sent = runtime.slash("move CPE-3222 to plan")  # Pilot → Build & Test → Plan
    runtime.drain()
    assert jira.status_of("CPE-3222") == "Plan" and _answer(runtime, sent).startswith("✅")
    moves = [r for r in jira.requests if r.method == "POST" and r.path.endswith("CPE-3222/transitions")]
    assert len(moves) == 2
    assert "via Build &amp; Test" in _thread_text(runtime)
