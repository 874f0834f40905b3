"""The model behind remedy's wording: Ollama with a timeout, structured output, temperature 0, a
response cache, and a cool-down after a failure.

``ask`` never raises: any failure (not configured, down, slow, model not pulled, invalid JSON,
an answer that doesn't fit the schema) returns None and the caller words the text from its
template. ``timeout`` bounds the whole call, not each read (remedy.llm.deadline): a server that
trickles its answer costs the timeout, no more. After a failure the model is skipped for
``cooldown`` seconds, so a dead Ollama costs one timeout, not one per card.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import ollama
from redis import Redis
from redis.exceptions import RedisError

from remedy.llm.deadline import DeadlineExceeded, DeadlineTransport, within

log = logging.getLogger("remedy.llm")
CACHE_KEY = "remedy:llm:{model}:{use}:v{version}:{facts}"
CACHE_TTL = 30 * 24 * 3600
DOWN_KEY = "remedy:llm:down"


@dataclass(frozen=True)
class Use:
    """One thing remedy asks the model for: its instructions and the string fields it returns.
    Bump ``version`` when the instructions change, so cached answers to the old ones are not reused."""

    name: str
    version: int
    instructions: str
    fields: dict[str, str]  # field name → what it should say

    def schema(self) -> dict[str, Any]:
        props = {name: {"type": "string", "description": why} for name, why in self.fields.items()}
        return {"type": "object", "properties": props, "required": list(self.fields), "additionalProperties": False}


def facts_hash(facts: dict[str, Any]) -> str:
    canonical = json.dumps(facts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


@dataclass
class Llm:
    host: str | None
    model: str
    timeout: float
    redis: Redis
    cooldown: float = 60.0
    calls: int = 0  # model calls made by this process (benchmarks and tests count them)
    last_wait: float | None = None  # seconds the latest model call kept its caller waiting
    last_error: str | None = field(default=None)
    _ollama: ollama.Client | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def configured(self) -> bool:
        return bool(self.host)

    def ask(self, use: Use, facts: dict[str, Any], plain: dict[str, str] | None = None) -> dict[str, str] | None:
        """The model's fields for ``facts`` (cached per model, use version and facts), or None.
        ``plain`` is remedy's own wording of the same fields, given to the model to improve on: a
        small model rewords a correct draft far more reliably than it writes from a facts dump."""
        if not self.configured:
            return None
        key = CACHE_KEY.format(model=self.model, use=use.name, version=use.version, facts=facts_hash(facts))
        cached = self._cached(key)
        if cached is not None:
            return cached
        if self._cooling_down():
            return None
        answer = self._call(use, facts, plain or {})
        if answer is not None:
            self._store(key, answer)
        return answer

    def _call(self, use: Use, facts: dict[str, Any], plain: dict[str, str]) -> dict[str, str] | None:
        prompt = (f"{use.instructions}\n\nUse only these facts; do not add numbers, names, dates or links "
                  f"that are not in them.\nFACTS:\n{json.dumps(facts, sort_keys=True, default=str)}")
        if plain:
            prompt += ("\n\nPLAIN VERSION (correct but dry; reword it to read well, keeping every fact):\n"
                       + json.dumps(plain, sort_keys=True))
        started = time.monotonic()
        try:
            self.calls += 1
            response = within(self.timeout, lambda: self._client().chat(
                model=self.model, messages=[{"role": "user", "content": prompt}], format=use.schema(),
                options={"temperature": 0}, stream=False))
            answer = _fields(response.message.content or "", use)
        except DeadlineExceeded as exc:
            self._failed(f"Timeout: {exc}")  # doctor and the logs say what kind of failure it was
            return None
        except (ollama.ResponseError, httpx.HTTPError, ValueError, OSError) as exc:
            self._failed(f"{type(exc).__name__}: {str(exc)[:120]}")
            return None
        finally:
            self.last_wait = time.monotonic() - started
        log.info("llm %s answered in %.2f s", use.name, self.last_wait)
        if answer is None:
            self._failed("answer did not fit the schema")
        return answer

    def _client(self) -> ollama.Client:
        # One client (one connection pool) per process: building one loads the TLS certificates,
        # ~50 ms of CPU that 20 parallel cards would otherwise queue behind.
        with self._lock:
            if self._ollama is None:
                self._ollama = ollama.Client(host=self.host, timeout=self.timeout, transport=DeadlineTransport())
            return self._ollama

    def _failed(self, why: str) -> None:
        self.last_error = why
        log.warning("llm unavailable (%s); wording from templates for %.0f s", why, self.cooldown)
        try:
            if self.cooldown > 0:
                self.redis.set(DOWN_KEY, why, ex=max(1, int(self.cooldown)))
        except RedisError:
            pass

    def _cooling_down(self) -> bool:
        try:
            return bool(self.redis.exists(DOWN_KEY))
        except RedisError:
            return False

    def _cached(self, key: str) -> dict[str, str] | None:
        try:
            raw = self.redis.get(key)
        except RedisError:
            return None
        if raw is None:
            return None
        value = json.loads(raw)
        return value if isinstance(value, dict) else None

    def _store(self, key: str, answer: dict[str, str]) -> None:
        try:
            self.redis.set(key, json.dumps(answer), ex=CACHE_TTL)
        except RedisError:
            log.warning("llm cache unavailable; the answer is used but not kept")

    def mode(self) -> str:
        """What `doctor` says about wording: model, or templates and why."""
        if not self.configured:
            return "template mode (OLLAMA_HOST not set): plain wording, same numbers"
        try:
            down = self.redis.get(DOWN_KEY)
        except RedisError:
            down = None
        if down is not None:
            why = down.decode() if isinstance(down, bytes) else str(down)
            return f"template mode for now ({why}): plain wording, same numbers"
        return f"model mode: {self.model} words the texts; every number and name is checked against the facts"


def _fields(content: str, use: Use) -> dict[str, str] | None:
    try:
        data = json.loads(content)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    found = {name: data.get(name) for name in use.fields}
    if not all(isinstance(v, str) and v.strip() for v in found.values()):
        return None
    return {k: str(v).strip() for k, v in found.items()}
