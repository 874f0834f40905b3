"""Home threads and at-most-once replies, through the real Slack simulator."""

from __future__ import annotations

from remedy.db import Action
from remedy_cli.embedded import Runtime


def test_reply_is_posted_once_per_key(runtime: Runtime) -> None:
    poster = runtime.services.poster
    first = poster.reply("C0CPETEAM", "CPE-3222", "status", "hello", None, "job1:card")
    second = poster.reply("C0CPETEAM", "CPE-3222", "status", "hello", None, "job1:card")
    assert first.ts == second.ts and second.reused
    assert len(runtime.sandbox.slack_state.thread("C0CPETEAM", first.thread_ts or "")) == 2


def test_crash_after_posting_is_not_posted_again(runtime: Runtime) -> None:
    poster, db = runtime.services.poster, runtime.services.db
    posted = poster.reply("C0CPETEAM", "CPE-3222", "status", "hello", None, "job2:card")
    with db.session() as s:  # as if the worker died after chat.postMessage, before recording it
        row = s.query(Action).filter_by(idempotency_key="job2:card").one()
        row.status, row.external_id = "pending", None
    again = poster.reply("C0CPETEAM", "CPE-3222", "status", "hello", None, "job2:card")
    assert again.ts == posted.ts
    assert len(runtime.sandbox.slack_state.thread("C0CPETEAM", posted.thread_ts or "")) == 2


def test_deleted_thread_parent_gets_a_new_home(runtime: Runtime) -> None:
    poster, slack = runtime.services.poster, runtime.sandbox.slack_state
    first = poster.reply("C0CPETEAM", "CPE-3222", "status", "one", None, "k1")
    slack.delete_message("C0CPETEAM", first.thread_ts or "")
    second = poster.reply("C0CPETEAM", "CPE-3222", "status", "two", None, "k2")
    assert second.thread_ts != first.thread_ts
    assert [m.text for m in slack.thread("C0CPETEAM", second.thread_ts or "")] == ["status", "two"]


def test_slack_rate_limit_is_waited_out(runtime: Runtime) -> None:
    slack = runtime.sandbox.slack_state
    slack.fail_next("chat.postMessage", status=429, retry_after=0, times=2)
    posted = runtime.services.poster.reply("C0CPETEAM", "CPE-3222", "status", "hi", None, "k3")
    assert [m.text for m in slack.thread("C0CPETEAM", posted.thread_ts or "")] == ["status", "hi"]
