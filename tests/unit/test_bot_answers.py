"""What the bot answers straight away (in the ack), before any job runs."""

from __future__ import annotations

import time

import pytest

from remedy.commands.catalog import AVAILABLE_JOBS
from remedy_cli.embedded import Runtime
from tests.slackview import block_texts


def test_help_lists_commands(runtime: Runtime) -> None:
    sent = runtime.slash("help")
    text = sent.ack_text + block_texts(sent.body.get("blocks", []))
    for word in ("work", "escalate", "deploy pilot", "daily update", "doctor"):
        assert word in text


def test_typo_gets_did_you_mean(runtime: Runtime) -> None:
    sent = runtime.slash("wrok CPE-3222")
    assert "Did you mean" in sent.ack_text and "`work`" in sent.ack_text
    assert runtime.services.queue.rq.count == 0


def test_command_of_a_later_issue_says_not_available_yet(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(AVAILABLE_JOBS, "risks")  # every command has its job now: take one away
    sent = runtime.slash("risks")
    assert sent.ack_text.startswith("🚧") and "risks" in sent.ack_text
    assert runtime.services.queue.rq.count == 0


def test_unknown_person_cannot_write(runtime: Runtime) -> None:
    sent = runtime.slash('comment CPE-3222 "hello"', user="U0STRANGER")
    assert sent.ack_text.startswith("🔒") and "engineer" in sent.ack_text
    assert runtime.services.queue.rq.count == 0


def test_broadcast_in_user_text_never_comes_back_live(runtime: Runtime) -> None:
    sent = runtime.slash("&lt;!channel&gt; work")
    assert "<!channel>" not in sent.ack_text + block_texts(sent.body.get("blocks", []))


def test_unsigned_and_replayed_requests_are_rejected(runtime: Runtime) -> None:
    unsigned = runtime.slash("work CPE-3222", signed=False)
    replayed = runtime.slash("work CPE-3222", timestamp=int(time.time()) - 10 * 60)
    assert unsigned.status == 401 and replayed.status == 401
    assert runtime.services.queue.rq.count == 0


def test_queue_down_is_told_at_once(sandbox, sqlite_url) -> None:  # type: ignore[no-untyped-def]
    rt = Runtime.start(sandbox, sqlite_url, redis_url="redis://127.0.0.1:1/0")
    try:
        start = time.perf_counter()
        sent = rt.slash("work CPE-3222")
        took = time.perf_counter() - start
    finally:
        rt.stop()
    assert sent.status == 200 and "can't reach my job queue" in sent.ack_text
    assert took < 2.5  # within Slack's 3 s
