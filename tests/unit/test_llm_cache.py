"""The model's answers are cached in Redis (the real one), keyed by model, use and prompt version, and the
facts: the same ticket state is never asked twice, even by another process, while another model,
another prompt version or a changed ticket is asked afresh."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from remedy.llm.client import Llm, Use
from remedy.sandbox.run import Sandbox
from remedy_cli.embedded import Runtime
from tests.slackview import block_texts

OTHER_MODEL = "qwen2.5:3b"


@contextmanager
def _remedy(sandbox: Sandbox, db: Path, redis_url: str, **settings: object) -> Iterator[Runtime]:
    rt = Runtime.start(sandbox, f"sqlite:///{db}", redis_url, REMEDY_RETRY_DELAYS=[0], REMEDY_JIRA_TRIES=1,
                       **settings)
    try:
        yield rt
    finally:
        rt.stop()


def _draft(rt: Runtime) -> str:
    sent = rt.slash("draft comment CPE-3222")
    rt.drain()
    view = rt.sandbox.slack_state.response_view(sent.response_url)
    assert view is not None, sent.ack_text
    return block_texts(view.blocks)


def test_a_repeated_draft_is_answered_from_redis_and_another_model_is_asked(sandbox: Sandbox, redis_url: str,
                                                                           tmp_path: Path) -> None:
    state = sandbox.ollama_state
    state.models.append(OTHER_MODEL)
    with _remedy(sandbox, tmp_path / "first.db", redis_url) as rt:
        first = _draft(rt)
        assert _draft(rt) == first and len(state.calls) == 1  # unchanged ticket: one model call
    # Another process (its own database), same Redis: still no second call for the same state.
    with _remedy(sandbox, tmp_path / "second.db", redis_url) as rt:
        assert _draft(rt) == first and len(state.calls) == 1
    with _remedy(sandbox, tmp_path / "third.db", redis_url, OLLAMA_MODEL=OTHER_MODEL) as rt:
        assert "Draft comment for CPE-3222" in _draft(rt)
        assert [c.model for c in state.calls] == ["llama3.2:3b", OTHER_MODEL]  # no hit across models
        _draft(rt)
        assert len(state.calls) == 2
        # A changed ticket is a new question: a subtask done changes the facts.
        with sandbox.jira_state.lock:
            next(s for s in sandbox.jira_state.subtasks("CPE-3222") if s.status != "Done").status = "Done"
        assert "Subtasks: 2 of 2 done" in _draft(rt) and len(state.calls) == 3


def test_a_new_prompt_version_is_not_answered_from_the_cache(sandbox: Sandbox, redis_url: str) -> None:
    state = sandbox.ollama_state
    llm = Llm(sandbox.ollama.url, "llama3.2:3b", 5.0, redis.Redis.from_url(redis_url))
    v1 = Use("status", 1, "Say where the ticket stands.", {"summary": "one sentence"})
    v2 = Use("status", 2, "Say where the ticket stands, briefly.", {"summary": "one sentence"})
    facts, plain = {"ticket": "CPE-3222", "phase": "Pilot"}, {"summary": "CPE-3222 is in Pilot."}
    assert llm.ask(v1, facts, plain) == llm.ask(v1, facts, plain) == {"summary": "CPE-3222 is in Pilot."}
    assert len(state.calls) == 1
    llm.ask(v2, facts, plain)
    assert len(state.calls) == 2 and "briefly" in state.calls[-1].prompt
    llm.ask(v2, facts, plain)
    assert len(state.calls) == 2
