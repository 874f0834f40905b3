"""A worker that dies between the Jira call and recording it must not write twice when the job
runs again: the crash point is recreated by putting the job's action records back to
"pending" (what a SIGKILL right after Jira answered leaves behind) and running the same job again."""

from __future__ import annotations

from remedy.audit import verify
from remedy_cli.embedded import Runtime
from tests.crash import crash_and_rerun
from tests.slackview import only_thread


def test_comment_rerun_after_crash_posts_nothing_twice(runtime: Runtime) -> None:
    jira, slack = runtime.sandbox.jira_state, runtime.sandbox.slack_state
    before = len(jira.comments("CPE-3222"))
    sent = runtime.slash('comment CPE-3222 "Rollback tested on 3 Macs"')
    runtime.drain()
    job_id = sent.ack_text.split("`")[-2]
    crash_and_rerun(runtime, job_id)
    assert len(jira.comments("CPE-3222")) == before + 1
    replies = [m for m in only_thread(slack)[1:] if "commented on" in m.text]
    assert len(replies) == 1
    assert verify(runtime.services.db).checked == 1


def test_move_rerun_after_crash_creates_no_twin_subtask(runtime: Runtime) -> None:
    jira = runtime.sandbox.jira_state
    sent = runtime.slash("move CPE-3301 to plan")
    runtime.drain()
    job_id = sent.ack_text.split("`")[-2]
    crash_and_rerun(runtime, job_id)
    summaries = [s.summary for s in jira.subtasks("CPE-3301")]
    assert summaries.count("Draft rollout timeline") == 1
    assert summaries.count("Prepare user communication") == 1
    assert jira.status_of("CPE-3301") == "Plan"
