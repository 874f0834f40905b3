"""Jira text reaches the analysis card as text: a ticket summary that is Slack control syntax
(``<!channel>``, a disguised link) pings nobody and links nowhere — in the template's words, in the
model's words, and when the card is shown again from the ticket's memory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from remedy.sandbox.ollama import ChatRequest
from remedy.sandbox.run import Sandbox
from remedy_cli.embedded import Runtime

HOSTILE = "<!channel> <http://evil|x>"


@pytest.fixture(params=["templates", "model"])
def rt(request: pytest.FixtureRequest, sandbox: Sandbox, tmp_path: Path) -> Iterator[Runtime]:
    extra: dict[str, Any] = {"OLLAMA_HOST": None} if request.param == "templates" else {}
    with sandbox.jira_state.lock:
        sandbox.jira_state.issues["CPE-3222"].summary = HOSTILE
    runtime = Runtime.start(sandbox, f"sqlite:///{tmp_path / 'r.db'}", REMEDY_RETRY_DELAYS=[0], REMEDY_JIRA_TRIES=1,
                            **extra)
    yield runtime
    runtime.stop()


def _echoing(request: ChatRequest) -> str:
    """A model that repeats the summary's link (grounded: the facts hold it) and its ping (not grounded)."""
    return json.dumps({"summary": "CPE-3222 <http://evil|x> is in Pilot.", "risk": "<!channel> look at this",
                       "next": "Pilot success rate first."})


def _analyze(rt: Runtime) -> tuple[str, str]:
    sent = rt.slash("analyze CPE-3222")
    rt.drain()
    view = rt.sandbox.slack_state.response_view(sent.response_url)
    assert view is not None, sent.ack_text
    return view.text, json.dumps(view.blocks, ensure_ascii=False)


def test_a_hostile_summary_is_shown_as_text(rt: Runtime) -> None:
    model = rt.services.settings.OLLAMA_HOST is not None
    if model:
        rt.sandbox.ollama_state.script(_echoing, times=None)
    for _ in range(2):  # the second card comes from the ticket's memory, not from the model
        text, blocks = _analyze(rt)
        for shown in (text, blocks):
            assert "<!channel>" not in shown and "<http" not in shown and "<!" not in shown
        assert "*Priority* P2" in blocks  # the rest of the card is intact
        if model:
            assert "CPE-3222 &lt;http://evil|x&gt; is in Pilot." in blocks  # the model's words, escaped
            assert "Partly worded by" in blocks  # the ping in the risk field was not grounded
        else:
            assert "CPE-3222 (&lt;!channel&gt; &lt;http://evil|x&gt;) is in Pilot" in blocks
    assert len(rt.sandbox.ollama_state.calls) == (1 if model else 0)
