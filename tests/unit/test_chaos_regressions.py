"""Bugs the chaos suite (tests/chaos) found, pinned here on the embedded runtime so `make test` keeps them
fixed without real processes."""

from __future__ import annotations

from rq.job import Job
from rq.serializers import JSONSerializer
from sqlalchemy import select

from remedy.db.models import AuditEvent, SlackThread
from remedy.sandbox.run import HOME_CHANNEL
from remedy.slack.poster import METADATA_EVENT
from remedy_cli.embedded import Runtime
from tests.slackview import block_texts, button, only_thread

SARAH = "U02SARAH"


def _answer(rt: Runtime, response_url: str) -> str:
    view = rt.sandbox.slack_state.response_view(response_url)
    return view.text if view else ""


def test_go_rerun_after_the_decision_was_recorded_finishes_what_it_owes(runtime: Runtime) -> None:
    """A Go job that dies after recording "go" (here: Slack fails the card edit that comes next; in
    tests/chaos a SIGKILL) used to meet its own decision on the rerun and answer "Already decided":
    the card kept its buttons, and the audit event and the ✅ never came."""
    for text in ("create jamf policy CPE-3222", "deploy pilot CPE-3222", "rollout next CPE-3222"):
        runtime.slash(text)
        runtime.drain()
    card = [m for m in only_thread(runtime.sandbox.slack_state)[1:] if "Go / No-go" in m.text][-1]
    runtime.sandbox.slack_state.fail_next("chat.update", status=200, error="fatal_error")
    pressed = runtime.press(button(card.blocks, "Go"), user=SARAH, message_ts=card.ts)
    runtime.drain()

    assert _answer(runtime, pressed.response_url).startswith("✅ Go"), _answer(runtime, pressed.response_url)
    decided = runtime.sandbox.slack_state.message(HOME_CHANNEL, card.ts)
    assert "✅ *Go* for *Phase 1* by <@U02SARAH>" in block_texts(decided.blocks)
    with runtime.services.db.session() as s:
        actions = list(s.scalars(select(AuditEvent.action)))
    assert actions.count("jamf.rollout.go") == 1
    policy = next(p for p in runtime.sandbox.jamf_state.policies.values() if p.name.startswith("CPE-3222 Chrome 120"))
    assert policy.group_ids == [1, 2]


def test_bulk_job_rerun_after_it_finished_answers_done_again(runtime: Runtime) -> None:
    """A confirmed batch comment whose job dies after marking the operation done (before the card, the
    run's audit event and the ✅) is run again by RQ: it used to answer "That bulk operation is done;
    nothing more was done" and leave the rest undone. Now the rerun finishes, writing nothing twice."""
    runtime.slash('batch comment "Pilot starts Monday" on CPE-3222 CPE-3445')
    runtime.drain()
    card = [m for m in runtime.sandbox.slack_state.messages(HOME_CHANNEL) if m.text.startswith("📦")][-1]
    pressed = runtime.press(button(card.blocks, "Confirm"), message_ts=card.ts)
    runtime.drain()
    job_id = runtime.sandbox.slack_state.response_posts(pressed.response_url)[0].text.split("`")[1]
    assert _answer(runtime, pressed.response_url) == "✅ All 2 done."
    job = Job.fetch(job_id, connection=runtime.services.redis, serializer=JSONSerializer)
    assert job.func_name is not None
    runtime.services.queue.rq.enqueue_call(job.func_name, kwargs=job.kwargs, job_id=job.id)  # RQ's rerun
    runtime.drain()

    assert _answer(runtime, pressed.response_url) == "✅ All 2 done."
    comments = [c for k in ("CPE-3222", "CPE-3445") for c in runtime.sandbox.jira_state.comments(k)
                if c["text"].startswith("Pilot starts Monday")]
    assert len(comments) == 2
    with runtime.services.db.session() as s:
        actions = list(s.scalars(select(AuditEvent.action)))
    assert actions.count("bulk.comment.run") == 1 and actions.count("jira.comment") == 2


def test_a_thread_parent_posted_by_a_job_that_died_before_recording_it_is_adopted(runtime: Runtime) -> None:
    """The crash point: a job claimed CPE-3222's home thread, posted the parent, and died (or lost the
    database) before storing its ts. The next job used to wait out the claim and post a second parent;
    now it finds the first by the key the parent carries and threads under it."""
    slack = runtime.sandbox.slack_state
    with runtime.services.db.session() as s:
        s.add(SlackThread(channel_id=HOME_CHANNEL, ticket_key="CPE-3222", ts=""))
    orphan = slack.post_message(HOME_CHANNEL, text="🧩 CPE-3222 Chrome 120 security update",
                                metadata={"event_type": METADATA_EVENT, "event_payload": {"key": "home:CPE-3222"}})
    sent = runtime.slash('comment CPE-3222 "Rollback tested on 3 Macs"')
    runtime.drain()

    assert _answer(runtime, sent.response_url).startswith("✅")
    assert [m.ts for m in slack.messages(HOME_CHANNEL)] == [orphan.ts]
    assert any("Rollback tested" in block_texts(m.blocks) for m in slack.replies(HOME_CHANNEL, orphan.ts))
