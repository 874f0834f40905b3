"""OLLAMA_TIMEOUT bounds a whole model call, not each read: a model server that trickles its answer a
byte at a time (never tripping a per-read timeout) costs the job the timeout and no more, the card is
worded from the template, and the connection is closed soon after, so no thread keeps reading."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from remedy.llm.deadline import DeadlineExceeded, within
from remedy.sandbox.ollama import Trickle
from remedy.sandbox.run import Sandbox
from remedy_cli.embedded import Runtime
from tests.slackview import block_texts

TIMEOUT = 0.5
MARGIN = 0.25  # thread start, JSON, logging: what the job may wait beyond the deadline


@pytest.fixture
def rt(sandbox: Sandbox, sqlite_url: str) -> Iterator[Runtime]:
    runtime = Runtime.start(sandbox, sqlite_url, REMEDY_RETRY_DELAYS=[0], REMEDY_JIRA_TRIES=1, OLLAMA_TIMEOUT=TIMEOUT)
    yield runtime
    runtime.stop()


def _card(rt: Runtime, key: str) -> str:
    sent = rt.slash(f"analyze {key}")
    rt.drain()
    view = rt.sandbox.slack_state.response_view(sent.response_url)
    assert view is not None, sent.ack_text
    return block_texts(view.blocks)


def test_a_trickling_model_costs_the_timeout_once_and_the_template_words_the_card(rt: Runtime) -> None:
    state = rt.sandbox.ollama_state
    state.script_trickle(interval=0.05, times=None)  # a ~600-byte answer over ~30 s, 20 bytes a second
    text = _card(rt, "CPE-3222")
    [call] = state.calls
    assert isinstance(call.outcome, Trickle)
    waited = rt.services.llm.last_wait
    assert waited is not None and TIMEOUT <= waited < TIMEOUT + MARGIN  # the model call itself, measured
    assert "Plain wording by remedy" in text and "CPE-3222 (Chrome 120 security update) is in Pilot" in text
    # The abandoned read hangs up too: the simulator sees the client go within a read or two of the deadline.
    until = time.monotonic() + 2
    while not state.hung_up and time.monotonic() < until:
        time.sleep(0.02)
    assert state.hung_up and state.hung_up[0] - call.at < TIMEOUT + 0.5
    # Cooling down: the next card asks no model and waits for none.
    started = time.monotonic()
    assert "Plain wording by remedy" in _card(rt, "CPE-3445")
    assert len(state.calls) == 1 and time.monotonic() - started < TIMEOUT
    assert "no full answer within 0.5 s" in rt.services.llm.mode()  # what `doctor` says meanwhile


def test_within_returns_raises_or_gives_up_at_the_deadline() -> None:
    assert within(1.0, lambda: 42) == 42
    with pytest.raises(KeyError):
        within(1.0, lambda: {}["missing"])
    release = threading.Event()
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded, match=r"within 0\.2 s"):
        within(0.2, lambda: release.wait(10))
    assert 0.2 <= time.monotonic() - started < 0.2 + MARGIN
    release.set()
