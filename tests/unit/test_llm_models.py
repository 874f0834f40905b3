"""Different models, same decisions: two models on the Ollama simulator, each scripted to word the analysis its
own way and to claim a priority of its own (P1, P4). The claim is not in the facts, so the grounding check
drops it; the card's Priority line and the `priorities` / `my queue` order come from the rules, and are the
same under both models — and with no model at all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from remedy.sandbox.ollama import ChatRequest
from remedy.sandbox.run import Sandbox
from remedy_cli.embedded import Runtime
from tests.slackview import block_texts

MODELS = ("llama3.2:3b", "qwen2.5:3b")
SARAH = "U02SARAH"  # a lead (remedy/defaults/team.yml)
CHROME_FIRST = "1. *CPE-3222* Chrome 120 security update — P2: CVE 8.8 (+40)"


def _worded_by(model: str, claim: str) -> Any:
    """A scripted model: its own wording of the analysis, and a priority of its own making in the risk."""
    def answer(asked: ChatRequest) -> str:
        return json.dumps({"summary": f"CPE-3222 (Chrome 120 security update) is in Pilot, as {model} reads it.",
                           "risk": f"Treat it as {claim}: it belongs at the {'top' if claim == 'P1' else 'bottom'} "
                                   "of the queue.",
                           "next": "Pilot success rate is the next step."})
    return answer


def _answer(rt: Runtime, text: str, user: str = "U01ALICE") -> tuple[str, list[dict[str, Any]]]:
    sent = rt.slash(text, user=user)
    rt.drain()
    view = rt.sandbox.slack_state.response_view(sent.response_url)
    return (block_texts(view.blocks), view.blocks) if view else (sent.ack_text, [])


def _queue(rt: Runtime, text: str) -> list[str]:
    return [line for line in _answer(rt, text)[0].splitlines() if line[:1].isdigit()]


def _priority_line(blocks: list[dict[str, Any]]) -> str:
    [line] = [b["text"]["text"] for b in blocks if b.get("text", {}).get("text", "").startswith("*Priority*")]
    return str(line)


def _seen_by(sandbox: Sandbox, db: Path, model: str | None) -> tuple[str, str, list[str], list[str]]:
    """(the analysis card, its Priority line, `priorities`, `my queue`) with ``model``, or templates."""
    wording: dict[str, Any] = {"OLLAMA_MODEL": model} if model else {"OLLAMA_HOST": None}
    rt = Runtime.start(sandbox, f"sqlite:///{db}", REMEDY_RETRY_DELAYS=[0], REMEDY_JIRA_TRIES=1, **wording)
    try:
        card, blocks = _answer(rt, "analyze CPE-3222")
        return card, _priority_line(blocks), _queue(rt, "priorities"), _queue(rt, "my queue")
    finally:
        rt.stop()


def test_ordering_is_identical_whichever_model_is_configured(sandbox: Sandbox, tmp_path: Path) -> None:
    state = sandbox.ollama_state
    state.models.append(MODELS[1])
    for model, claim in zip(MODELS, ("P1", "P4"), strict=True):
        state.script(_worded_by(model, claim), times=None, when="analysis of one", model=model)
    with sandbox.jira_state.lock:  # alice gets two more tickets, so the order has something to show
        for key in ("CPE-3445", "CPE-3301"):
            sandbox.jira_state.issues[key].assignee = sandbox.jira_state.issues["CPE-3222"].assignee
    seen = [_seen_by(sandbox, tmp_path / f"{n}.db", model) for n, model in enumerate((*MODELS, None))]
    first, second, plain = (card for card, *_ in seen)
    assert "as llama3.2:3b reads it" in first and "as qwen2.5:3b reads it" in second  # each model's own words
    assert "Treat it as" not in first + second and "Partly worded by" in first + second  # the claims: dropped
    assert "Plain wording by remedy" in plain
    assert [c.model for c in state.calls] == list(MODELS)  # each model was asked, once
    assert len({line for _, line, *_ in seen}) == 1 and seen[0][1].startswith("*Priority* P2: CVE 8.8 (+40)")
    queues = {tuple(q) for *_, by_priorities, by_queue in seen for q in (by_priorities, by_queue)}
    assert len(queues) == 1 and [line[3:12] for line in seen[0][2]] == ["*CPE-3222", "*CPE-3445", "*CPE-3301"]
    assert seen[0][2][0].startswith(CHROME_FIRST)
