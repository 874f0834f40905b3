"""The Ollama simulator, driven by the official ``ollama`` client over a real socket: tags, chat and
generate (streamed and not), structured output, the scripted misbehaviours, latency, timeouts, the
call log, and the wire shape of Ollama's own responses."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Literal

import httpx
import ollama
import pytest
from pydantic import BaseModel, Field

from remedy.doctor import run_checks
from remedy.llm.grounding import check, known
from remedy.sandbox.ollama import INJECTION, Answer, Hang, OllamaState, Refuse, Trickle
from remedy.sandbox.run import Sandbox
from remedy_cli.embedded import Runtime

MODEL = "llama3.2:3b"
FACTS = {"ticket": "CPE-3222", "app": "Google Chrome", "target_version": "120.0.6099.109",
         "compliant": 812, "total": 900, "percent": 90.22, "owner": "Sarah Chen"}  # fmt: skip
PROMPT = f"Write a one-line status update.\nUse only these facts.\nFACTS:\n{json.dumps(FACTS, sort_keys=True)}"
USER = [{"role": "user", "content": PROMPT}]


class Update(BaseModel):
    summary: str
    next_step: str


class Ring(BaseModel):
    name: str
    size: int = Field(ge=1)


class Card(BaseModel):
    """Everything pydantic puts in a schema: $defs/$ref, Optional (anyOf null), Literal (enum), bounds."""

    headline: str = Field(max_length=60)
    compliant: int = Field(ge=0)
    percent: float
    risk: Literal["low", "medium", "high"]
    rings: list[Ring] = Field(min_length=1)
    note: str | None = None
    blocked: bool


@pytest.fixture
def state(sandbox: Sandbox) -> OllamaState:
    return sandbox.ollama_state


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[ollama.Client]:
    with ollama.Client(host=sandbox.ollama.url, timeout=5) as c:
        yield c


def _chat(client: ollama.Client, schema: dict[str, Any] | Literal["json"] | None = None,
          prompt: str = PROMPT) -> ollama.ChatResponse:
    return client.chat(model=MODEL, messages=[{"role": "user", "content": prompt}], format=schema,
                       options={"temperature": 0})  # fmt: skip


# -- the basics ---------------------------------------------------------------------------------------
def test_sandbox_exports_the_simulator_like_the_other_services(sandbox: Sandbox, client: ollama.Client) -> None:
    env = sandbox.env("secret")
    assert env["OLLAMA_HOST"] == sandbox.ollama.url and env["OLLAMA_MODEL"] == MODEL
    settings = sandbox.settings("sqlite://", "secret")
    assert sandbox.ollama.url == settings.OLLAMA_HOST and settings.OLLAMA_MODEL == MODEL
    [model] = client.list().models
    assert model.model == MODEL and model.details is not None and model.details.family == "llama"


def test_chat_and_generate_answer_streamed_or_not(client: ollama.Client) -> None:
    whole = _chat(client)
    assert whole.done and whole.done_reason == "stop" and whole.message.role == "assistant"
    assert whole.message.content and "812" in whole.message.content
    chunks = list(client.chat(model=MODEL, messages=USER, stream=True))
    assert [c.done for c in chunks] == [False] * (len(chunks) - 1) + [True] and len(chunks) > 2
    assert "".join(c.message.content or "" for c in chunks) == whole.message.content
    generated = client.generate(model=MODEL, prompt=PROMPT)
    assert generated.done and generated.response == whole.message.content and generated.context
    parts = list(client.generate(model=MODEL, prompt=PROMPT, stream=True))
    assert "".join(p.response or "" for p in parts) == generated.response and parts[-1].done_reason == "stop"


def test_free_text_is_made_of_the_prompts_words_and_is_deterministic(client: ollama.Client) -> None:
    prompt = "Summarise for the channel: 37 Macs failed and 12 are pending on CPE-3301."
    first, second = _chat(client, prompt=prompt), _chat(client, prompt=prompt)
    text = first.message.content or ""
    assert text == second.message.content
    assert text and all(word.strip(".,;:") in prompt for word in text.split())


def test_a_schema_request_gets_json_that_validates_and_states_the_facts(client: ollama.Client) -> None:
    card = Card.model_validate_json(_chat(client, Card.model_json_schema()).message.content or "")
    assert card.compliant == 812 and card.percent == 90.22  # named after a fact: that fact
    assert len(card.headline) <= 60 and card.rings and card.rings[0].size >= 1
    hand_written = {"type": "object", "required": ["summary", "next_step"], "additionalProperties": False,
                    "properties": {"summary": {"type": "string"}, "next_step": {"type": "string"}}}  # fmt: skip
    data = json.loads(_chat(client, hand_written).message.content or "")
    assert set(data) == {"summary", "next_step"} and all(isinstance(v, str) and v for v in data.values())
    assert json.loads(_chat(client, "json").message.content or "")


def test_the_default_answer_passes_the_grounding_check(client: ollama.Client) -> None:
    update = Update.model_validate_json(_chat(client, Update.model_json_schema()).message.content or "")
    facts = known(FACTS)
    assert check(update.summary, facts).ok and check(update.next_step, facts).ok, update


# -- scripted misbehaviour ----------------------------------------------------------------------------------
def test_wrong_numbers_change_one_number_and_keep_the_schema(client: ollama.Client, state: OllamaState) -> None:
    first = _chat(client, Update.model_json_schema()).message.content or ""
    honest = Update.model_validate_json(first)
    state.script_wrong_numbers()
    lying = Update.model_validate_json(_chat(client, Update.model_json_schema()).message.content or "")
    verdict = check(lying.summary, known(FACTS))
    assert not verdict.ok and verdict.invented and all(n not in PROMPT for n in verdict.invented)
    assert re.sub(r"\d+", "#", lying.summary) == re.sub(r"\d+", "#", honest.summary)
    assert _chat(client, Update.model_json_schema()).message.content == first  # the script was for one call


def test_injection_keeps_the_format_but_carries_a_ping_and_a_link(client: ollama.Client, state: OllamaState) -> None:
    state.script_injection(times=2)
    update = Update.model_validate_json(_chat(client, Update.model_json_schema()).message.content or "")
    assert update.summary.startswith(INJECTION) and "<!channel>" in update.next_step
    free = _chat(client).message.content or ""
    assert "<http://evil.example|here>" in free and "ignore previous instructions" in free


def test_invalid_json_is_cut_short_like_a_model_out_of_tokens(client: ollama.Client, state: OllamaState) -> None:
    state.script_invalid_json()
    cut = _chat(client, Update.model_json_schema())
    assert cut.done_reason == "length"
    with pytest.raises(ValueError):
        json.loads(cut.message.content or "")


def test_a_timeout_trips_the_clients_timeout_and_the_server_recovers(sandbox: Sandbox, state: OllamaState) -> None:
    state.script_timeout()
    impatient = ollama.Client(host=sandbox.ollama.url, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(httpx.TimeoutException):
        impatient.chat(model=MODEL, messages=USER)
    assert time.monotonic() - started < 1.5
    assert impatient.chat(model=MODEL, messages=USER).message.content  # usable at once
    assert isinstance(state.calls[0].outcome, Hang) and isinstance(state.calls[1].outcome, Answer)


def test_stopping_the_sandbox_wakes_a_hung_call() -> None:
    sandbox = Sandbox.start()
    sandbox.ollama_state.script_timeout()
    errors: list[BaseException] = []

    def patient() -> None:
        try:
            ollama.Client(host=sandbox.ollama.url, timeout=30).chat(model=MODEL, messages=USER)
        except (ollama.ResponseError, httpx.HTTPError) as exc:
            errors.append(exc)

    caller = threading.Thread(target=patient)
    caller.start()
    time.sleep(0.3)
    started = time.monotonic()
    sandbox.stop()
    caller.join(timeout=5)
    assert not caller.is_alive() and time.monotonic() - started < 2 and errors


def test_a_model_not_pulled_is_a_404(client: ollama.Client, state: OllamaState) -> None:
    with pytest.raises(ollama.ResponseError) as missing:
        client.chat(model="mistral:7b", messages=USER)
    assert missing.value.status_code == 404
    assert missing.value.error == 'model "mistral:7b" not found, try pulling it first'
    state.script_not_pulled()
    with pytest.raises(ollama.ResponseError) as scripted:
        list(client.generate(model=MODEL, prompt=PROMPT, stream=True))  # streams are lazy: iterate to send
    assert scripted.value.status_code == 404 and MODEL in scripted.value.error
    assert isinstance(state.calls[-1].outcome, Refuse)
    assert client.generate(model=MODEL, prompt=PROMPT).response  # only the next call
    assert client.chat(model="LLAMA3.2:3b", messages=USER).message.content  # names compare as Ollama's do


def test_scripts_by_prompt_by_count_and_by_function(client: ollama.Client, state: OllamaState) -> None:
    state.script("Chrome is at 812 of 900.", when="CPE-3222")
    state.script(lambda asked: f"{len(asked.messages)} message(s) to {asked.model}", times=None)
    assert _chat(client, prompt="about CPE-9999").message.content == f"1 message(s) to {MODEL}"
    assert _chat(client).message.content == "Chrome is at 812 of 900."
    assert _chat(client).message.content == f"1 message(s) to {MODEL}"  # times=None: until cleared
    state.clear_scripts()
    assert _chat(client).message.content != f"1 message(s) to {MODEL}"


def test_scripts_by_model_make_two_models_answer_differently(client: ollama.Client, state: OllamaState) -> None:
    state.models.append("qwen2.5:3b")
    state.script("Chrome first: this is P1.", times=None, model="llama3.2:3b")
    state.script("Chrome can wait: P4.", times=None, model="QWEN2.5:3b")  # names compare as Ollama's do
    assert _chat(client).message.content == "Chrome first: this is P1."
    other = client.chat(model="qwen2.5:3b", messages=USER, options={"temperature": 0})
    assert other.message.content == "Chrome can wait: P4."
    assert [c.model for c in state.calls] == ["llama3.2:3b", "qwen2.5:3b"]


def test_a_trickle_outlasts_every_per_read_timeout(sandbox: Sandbox, state: OllamaState, client: ollama.Client
                                                    ) -> None:
    """One byte every 0.1 s: a client whose reads may each take 0.5 s never times out, so only a deadline
    for the whole call ends it. Hanging up stops the trickle, and the simulator notes when."""
    state.script_trickle(interval=0.1)
    ended: list[BaseException] = []
    reader = httpx.Client(base_url=sandbox.ollama.url, timeout=0.5)

    def read_slowly() -> None:
        try:
            with reader.stream("POST", "/api/chat", json={"model": MODEL, "messages": USER, "stream": False}) as r:
                for _ in r.iter_bytes():
                    if time.monotonic() - started > 1.2:
                        raise TimeoutError("gave up")  # a client with a deadline hangs up
        except TimeoutError as exc:
            ended.append(exc)

    started = time.monotonic()
    caller = threading.Thread(target=read_slowly)
    caller.start()
    caller.join(timeout=5)
    reader.close()
    assert ended and isinstance(state.calls[0].outcome, Trickle)  # still arriving after 1.2 s: no read timed out
    deadline = time.monotonic() + 2
    while not state.hung_up and time.monotonic() < deadline:
        time.sleep(0.02)
    assert state.hung_up and state.hung_up[0] - started < 1.2 + 0.5
    assert _chat(client).message.content  # the next call is answered at once


def test_injected_failures_answer_as_ollama_does(client: ollama.Client, state: OllamaState) -> None:
    state.fail_next(503, path_contains="/api/chat")
    with pytest.raises(ollama.ResponseError) as busy:
        _chat(client)
    assert busy.value.status_code == 503 and "server busy" in busy.value.error
    assert _chat(client).message.content


# -- latency and the call log ----------------------------------------------------------------------------
def test_latency_is_per_generation_call(client: ollama.Client, state: OllamaState) -> None:
    assert OllamaState().latency == 2.0  # the roadmap's measurement; the sandbox starts at 0 for speed
    state.set_latency(0.3)
    started = time.monotonic()
    answer = _chat(client)
    took = time.monotonic() - started
    assert 0.3 <= took < 1.0 and answer.total_duration is not None and answer.total_duration >= 0.3e9
    started = time.monotonic()
    client.list()
    assert time.monotonic() - started < 0.2  # listing models generates nothing


def test_the_call_log_records_what_was_asked(client: ollama.Client, state: OllamaState) -> None:
    schema = Update.model_json_schema()
    client.chat(model=MODEL, messages=[{"role": "system", "content": "Be brief."}, *USER], format=schema,
                options={"temperature": 0})  # fmt: skip
    list(client.generate(model=MODEL, prompt="hello", system="Be kind.", stream=True))
    chat, generate = state.calls
    assert (chat.endpoint, chat.model, chat.format, chat.options) == ("chat", MODEL, schema, {"temperature": 0})
    assert [m.role for m in chat.messages] == ["system", "user"] and chat.prompt.endswith(PROMPT)
    assert generate.endpoint == "generate" and generate.prompt == "Be kind.\nhello" and generate.stream
    assert generate.format is None and chat.at <= generate.at


# -- faithfulness to Ollama's wire format -------------------------------------------------------------------
CHAT_FIELDS = {"model", "created_at", "message", "done", "done_reason", "total_duration", "load_duration",
               "prompt_eval_count", "prompt_eval_duration", "eval_count", "eval_duration"}  # fmt: skip


def test_response_fields_are_ollamas(sandbox: Sandbox) -> None:
    url = sandbox.ollama.url
    chat = httpx.post(f"{url}/api/chat", json={"model": MODEL, "messages": USER, "stream": False})
    assert chat.headers["content-type"].startswith("application/json")
    body = chat.json()
    assert set(body) == CHAT_FIELDS and body["message"] == {"role": "assistant", "content": body["message"]["content"]}
    assert body["created_at"].endswith("Z") and datetime.fromisoformat(body["created_at"])
    assert all(isinstance(body[k], int) for k in CHAT_FIELDS if k.endswith(("_duration", "_count")))
    generate = httpx.post(f"{url}/api/generate", json={"model": MODEL, "prompt": PROMPT, "stream": False}).json()
    assert set(generate) == CHAT_FIELDS - {"message"} | {"response", "context"}
    streamed = httpx.post(f"{url}/api/chat", json={"model": MODEL, "messages": USER})  # no "stream": Ollama streams
    assert streamed.headers["content-type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in streamed.text.splitlines()]
    assert set(lines[0]) == {"model", "created_at", "message", "done"} and set(lines[-1]) == CHAT_FIELDS
    [entry] = httpx.get(f"{url}/api/tags").json()["models"]
    assert set(entry) == {"name", "model", "modified_at", "size", "digest", "details"} and entry["name"] == MODEL
    assert set(entry["details"]) == {"parent_model", "format", "family", "families", "parameter_size",
                                     "quantization_level"}  # fmt: skip
    missing = httpx.post(f"{url}/api/chat", json={"model": "x", "messages": USER, "stream": False})
    assert (missing.status_code, missing.json()) == (404, {"error": 'model "x" not found, try pulling it first'})


def test_malformed_requests_get_ollamas_errors(sandbox: Sandbox) -> None:
    url = sandbox.ollama.url
    assert httpx.get(url).text == "Ollama is running" and httpx.get(f"{url}/api/nope").status_code == 404
    assert httpx.post(f"{url}/api/chat", json={"messages": USER}).json() == {"error": "model is required"}
    assert httpx.post(f"{url}/api/chat", content=b"").json() == {"error": "missing request body"}
    assert httpx.post(f"{url}/api/chat", content=b"{oops").status_code == 400
    load = httpx.post(f"{url}/api/chat", json={"model": MODEL, "messages": []}).json()
    assert load["done_reason"] == "load" and load["message"]["content"] == ""
    bad_format = httpx.post(f"{url}/api/chat", json={"model": MODEL, "messages": USER, "format": "xml"})
    assert bad_format.status_code == 500 and "invalid format" in bad_format.json()["error"]


# -- doctor ------------------------------------------------------------------------------------------------
def test_doctor_reports_ollama_ok_in_the_sandbox(runtime: Runtime) -> None:
    [ok] = [c for c in run_checks(runtime.services) if c.name == "Ollama"]
    assert ok.status == "ok" and MODEL in ok.detail, ok
    runtime.sandbox.ollama_state.models.clear()
    [missing] = [c for c in run_checks(runtime.services) if c.name == "Ollama"]
    assert missing.status == "fail" and "not pulled" in missing.detail
