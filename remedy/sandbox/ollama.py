"""An Ollama simulator as a plain WSGI app: ``POST /api/chat`` and ``/api/generate`` (NDJSON chunks
unless the body says ``"stream": false``: Ollama streams by default), ``GET /api/tags``, ``/api/version``
and ``/``, with Ollama's bodies, status codes and error words.

What the stand-in model answers, the scripts that make it misbehave, and the call log live in
:mod:`.ollama_state`. Waiting (``latency`` and scripted hangs) is real time, so a client's timeout fires
as it would against a slow model; a wait ends early when the client hangs up (Ollama cancels the
generation then too) or when the state is released, so stopping the server never waits on it.
"""

from __future__ import annotations

import hashlib
import json
import re
import select
import socket
import time
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from remedy.sandbox.faults import InjectedFailure
from remedy.sandbox.ollama_state import (  # re-exported: tests import them from here
    DEFAULT_MODEL,
    INJECTION,
    Answer,
    ChatMessage,
    ChatRequest,
    Hang,
    OllamaState,
    RecordedCall,
    Refuse,
    Reply,
    Trickle,
    canonical,
    grounded,
    injected,
    missing_model,
    skewed,
    truncated,
)
from remedy.sandbox.seed import NOW

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

__all__ = [
    "DEFAULT_MODEL",
    "INJECTION",
    "VERSION",
    "Answer",
    "ChatMessage",
    "ChatRequest",
    "Hang",
    "OllamaState",
    "RecordedCall",
    "Refuse",
    "Reply",
    "Trickle",
    "canonical",
    "create_app",
    "grounded",
    "injected",
    "missing_model",
    "pulled",
    "skewed",
    "truncated",
]  # fmt: skip

Json = dict[str, Any]
Endpoint = Literal["chat", "generate"]
VERSION = "0.12.6"
_POLL = 0.05  # seconds between checks that the client is still there
_TOKEN = re.compile(r"\w+|[^\w\s]")
_BUSY = "server busy, please try again.  maximum pending requests exceeded"  # Ollama's words for a full queue


class OllamaProblem(Exception):
    """A request Ollama refuses before generating anything."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def json_response(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json; charset=utf-8")


def error(status: int, message: str) -> Response:
    return json_response({"error": message}, status)


def pulled(state: OllamaState, name: str) -> bool:
    return canonical(name) in {canonical(m) for m in state.models}


def _created_at() -> str:
    # Wall clock, not the sandbox's simulated one: Ollama stamps when it answered.
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


# -- GET ----------------------------------------------------------------------------------------------
def _model_entry(name: str) -> Json:
    digest = hashlib.sha256(name.encode()).hexdigest()
    base, _, tag = canonical(name).partition(":")
    family = re.sub(r"[^a-z].*", "", base.rsplit("/", 1)[-1]) or base  # "llama3.2" -> "llama"
    size = re.fullmatch(r"(\d+(?:\.\d+)?)b", tag)
    details = {"parent_model": "", "format": "gguf", "family": family, "families": [family],
               "parameter_size": f"{size.group(1)}B" if size else "3.2B", "quantization_level": "Q4_K_M"}  # fmt: skip
    modified = (NOW - timedelta(days=30)).isoformat()
    return {"name": name, "model": name, "modified_at": modified, "size": 1_500_000_000 + int(digest[:7], 16),
            "digest": digest, "details": details}  # fmt: skip


def _tags(state: OllamaState, request: Request) -> Response:
    with state.lock:
        models = list(state.models)
    return json_response({"models": [_model_entry(name) for name in models]})


# -- POST: parsing --------------------------------------------------------------------------------------
def _body(request: Request) -> Json:
    raw = request.get_data()
    if not raw.strip():
        raise OllamaProblem(400, "missing request body")
    try:
        body = json.loads(raw)
    except ValueError:
        raise OllamaProblem(400, f"invalid character {raw.strip()[:1].decode(errors='replace')!r} looking for "
                                 "beginning of value") from None  # fmt: skip
    if not isinstance(body, dict):
        raise OllamaProblem(400, "json: cannot unmarshal array into Go value of type api.ChatRequest")
    return body


def _unmarshal(field: str, go_type: str) -> OllamaProblem:
    """A body field of the wrong JSON type, worded as Go's decoder words it."""
    return OllamaProblem(400, f"json: cannot unmarshal into Go struct field {field} of type {go_type}")


def _messages(endpoint: Endpoint, body: Json) -> tuple[ChatMessage, ...]:
    if endpoint == "generate":
        parts = [("system", body.get("system")), ("user", body.get("prompt"))]
        if not all(isinstance(text, str | None) for _, text in parts):
            raise _unmarshal("GenerateRequest.prompt", "string")
        return tuple(ChatMessage(role, text) for role, text in parts if text)
    raw = body.get("messages") or []
    if not isinstance(raw, list) or not all(isinstance(m, dict) for m in raw):
        raise _unmarshal("ChatRequest.messages", "[]api.Message")
    messages = tuple(ChatMessage(str(m.get("role", "")), m.get("content") or "") for m in raw)
    if not all(isinstance(m.content, str) for m in messages):
        raise _unmarshal("ChatRequest.messages.content", "string")
    return messages


def parse(endpoint: Endpoint, body: Json) -> ChatRequest:
    """The request as Ollama reads it; what it would refuse raises :class:`OllamaProblem`."""
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise OllamaProblem(400, "model is required")
    options = body.get("options") or {}
    if not isinstance(options, dict):
        raise _unmarshal("options", "map[string]interface {}")
    fmt = body.get("format") or None
    if fmt is not None and fmt != "json" and not isinstance(fmt, dict):
        # Ollama checks this only when generating, so it answers 500, not 400.
        raise OllamaProblem(500, f'invalid format: {json.dumps(fmt)!r}; expected "json" or a valid JSON schema')
    if body.get("think") is True:
        raise OllamaProblem(400, f'"{model}" does not support thinking')
    stream = body.get("stream", True) is not False  # omitted or null: Ollama streams
    return ChatRequest(endpoint, model, _messages(endpoint, body), fmt, options, stream)


# -- POST: answering ------------------------------------------------------------------------------------
def _piece(asked: ChatRequest, text: str) -> Json:
    reply: Json = {"model": asked.model, "created_at": _created_at()}
    if asked.endpoint == "chat":
        reply["message"] = {"role": "assistant", "content": text}
    else:
        reply["response"] = text
    reply["done"] = False
    return reply


def _done(asked: ChatRequest, answer: Answer, started: float) -> Json:
    """The last chunk's fields: why it stopped, and durations in nanoseconds that add up."""
    took = max(1, int((time.monotonic() - started) * 1e9))
    load, prompt_eval = took // 20, took // 5
    fields: Json = {"done": True, "done_reason": answer.done_reason, "total_duration": took,
                    "load_duration": load, "prompt_eval_count": len(_TOKEN.findall(asked.prompt)),
                    "prompt_eval_duration": prompt_eval, "eval_count": len(_TOKEN.findall(answer.text)),
                    "eval_duration": took - load - prompt_eval}  # fmt: skip
    if asked.endpoint == "generate":  # deprecated, but Ollama still sends the conversation's token ids
        tokens = _TOKEN.findall(asked.prompt + answer.text)
        fields["context"] = [zlib.crc32(t.encode()) % 128_256 for t in tokens]
    return fields


def _answer(asked: ChatRequest, answer: Answer, started: float) -> Response:
    if not asked.stream:
        return json_response({**_piece(asked, answer.text), **_done(asked, answer, started)})
    # Word-sized chunks whose concatenation is exactly the text, like a model's tokens.
    pieces = [p for p in re.split(r"(?<=\s)(?=\S)", answer.text) if p]

    def lines() -> Iterator[bytes]:
        for piece in pieces:
            yield (json.dumps(_piece(asked, piece)) + "\n").encode()
        yield (json.dumps({**_piece(asked, ""), **_done(asked, answer, started)}) + "\n").encode()

    return Response(lines(), content_type="application/x-ndjson")


def _loaded(asked: ChatRequest, body: Json) -> Response:
    """No messages (or no prompt) only loads the model, or unloads it with ``keep_alive: 0``."""
    reply = {**_piece(asked, ""), "done": True, "done_reason": "unload" if body.get("keep_alive") == 0 else "load"}
    return json_response(reply)


def _client_gone(sock: socket.socket) -> bool:
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):  # closed under us: gone too
        return True


def wait(state: OllamaState, environ: dict[str, Any], seconds: float) -> bool:
    """Sleep ``seconds``; False as soon as the client hangs up or the state is released."""
    deadline = time.monotonic() + seconds
    sock = environ.get("werkzeug.socket")  # absent in-process (httpx.WSGITransport): nobody can hang up
    while (left := deadline - time.monotonic()) > 0:
        if state.released.wait(min(left, _POLL)):
            return False
        if isinstance(sock, socket.socket) and _client_gone(sock):
            return False
    return True


def _trickled(state: OllamaState, environ: dict[str, Any], whole: Response, interval: float) -> Response:
    """``whole``'s body one byte every ``interval`` seconds, until it is sent or the client hangs up."""
    body = b"".join(whole.iter_encoded())

    def drip() -> Iterator[bytes]:
        for at in range(len(body)):
            if not wait(state, environ, interval):
                if not state.released.is_set():
                    with state.lock:
                        state.hung_up.append(time.monotonic())
                return
            yield body[at:at + 1]

    return Response(drip(), content_type=whole.content_type)


def _injected_words(failure: InjectedFailure) -> str:
    return _BUSY if failure.status == 503 else f"{HTTP_STATUS_CODES.get(failure.status, 'error')} (injected)"


def _injected(failure: InjectedFailure) -> Response:
    response = error(failure.status, _injected_words(failure))
    if failure.retry_after is not None:
        response.headers["Retry-After"] = str(failure.retry_after)
    return response


def _generation(endpoint: Endpoint) -> Callable[[OllamaState, Request], Response]:
    def handle(state: OllamaState, request: Request) -> Response:
        started = time.monotonic()
        body = _body(request)
        asked = parse(endpoint, body)
        failure = state.take_failure(request.path)
        if failure is not None:
            state.log(asked, Refuse(failure.status, _injected_words(failure)))
            return _injected(failure)
        if not pulled(state, asked.model):
            refusal = missing_model(asked)
            state.log(asked, refusal)
            return error(refusal.status, refusal.error)
        if not any(m.role == "user" or endpoint == "chat" for m in asked.messages):  # no prompt: a model load
            return _loaded(asked, body)
        outcome = state.decide(asked)
        if isinstance(outcome, Refuse):
            return error(outcome.status, outcome.error)
        if isinstance(outcome, Trickle):
            return _trickled(state, request.environ, _answer(asked, grounded(asked), started), outcome.interval)
        if isinstance(outcome, Hang):
            if not wait(state, request.environ, outcome.seconds):
                return error(499, "request canceled")  # nobody is listening any more
            outcome = grounded(asked)
        wait(state, request.environ, state.latency)
        return _answer(asked, outcome, started)

    return handle


# -- routing ----------------------------------------------------------------------------------------------
_URLS = Map([
    Rule("/", endpoint="root", methods=["GET"]),
    Rule("/api/version", endpoint="version", methods=["GET"]),
    Rule("/api/tags", endpoint="tags", methods=["GET"]),
    Rule("/api/chat", endpoint="chat", methods=["POST"]),
    Rule("/api/generate", endpoint="generate", methods=["POST"]),
])  # fmt: skip
_HANDLERS: dict[str, Callable[[OllamaState, Request], Response]] = {
    "root": lambda state, request: Response("Ollama is running", content_type="text/plain; charset=utf-8"),
    "version": lambda state, request: json_response({"version": VERSION}),
    "tags": _tags,
    "chat": _generation("chat"),
    "generate": _generation("generate"),
}


def _respond(state: OllamaState, request: Request) -> Response:
    try:
        endpoint, _ = _URLS.bind_to_environ(request.environ).match()
    except HTTPException:  # gin answers a wrong method like a wrong path
        return Response("404 page not found", status=404, content_type="text/plain")
    if endpoint not in ("chat", "generate"):  # generation calls take theirs once parsed, to log them
        failure = state.take_failure(request.path)
        if failure is not None:
            return _injected(failure)
    try:
        return _HANDLERS[endpoint](state, request)
    except OllamaProblem as problem:
        return error(problem.status, problem.message)


def create_app(state: OllamaState) -> WSGIApplication:
    """The simulator as a WSGI app: serve it with ``server.serve`` or mount it in httpx."""

    @Request.application
    def app(request: Request) -> Response:
        return _respond(state, request)

    return app
