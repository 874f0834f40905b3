"""`doctor`: one clear line per dependency, so an operator sees at once what is wrong."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from redis.exceptions import RedisError
from slack_sdk.errors import SlackApiError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from remedy.config import ConfigError
from remedy.db.migrate import current_revision, head_revision
from remedy.jamf.errors import JamfError
from remedy.jira.errors import JiraError
from remedy.services import Services


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok | fail | skip
    detail: str
    ms: float = 0.0

    @property
    def icon(self) -> str:
        return {"ok": "✅", "fail": "❌", "skip": "➖"}[self.status]

    def line(self) -> str:
        took = f" ({self.ms:.0f} ms)" if self.status != "skip" else ""
        return f"{self.icon} {self.name}: {self.detail}{took}"


def _timed(name: str, fn: Callable[[], str]) -> Check:
    start = time.perf_counter()
    try:
        detail = fn()
        status = "ok"
    except _SkipError as skip:
        return Check(name, "skip", str(skip))
    except (RedisError, SQLAlchemyError, SlackApiError, JiraError, JamfError, ConfigError, httpx.HTTPError,
            OSError, ValueError) as exc:
        detail, status = _short(exc), "fail"
    return Check(name, status, detail, (time.perf_counter() - start) * 1000)


class _SkipError(Exception):
    pass


def _short(exc: BaseException) -> str:
    if isinstance(exc, SlackApiError):
        return f"Slack said {exc.response.get('error')}"
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {first[:160]}"


def _redis(svc: Services) -> str:
    svc.redis.ping()
    depth = svc.queue.rq.count
    return f"reachable, {depth} job(s) waiting in queue '{svc.queue.rq.name}'"


def _database(svc: Services) -> str:
    with svc.db.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    rev, head = current_revision(svc.db.engine), head_revision()
    backend = svc.db.engine.dialect.name
    if rev != head:
        raise ValueError(f"{backend} schema at {rev or 'nothing'}, needs {head}: run `remedy db upgrade`")
    return f"{backend}, schema up to date ({rev})"


def _slack(svc: Services) -> str:
    if svc.settings.SLACK_BOT_TOKEN is None:
        raise _SkipError("not configured (SLACK_BOT_TOKEN)")
    resp = svc.slack.auth_test()
    return f"signed in as @{resp.get('user')} in {resp.get('team')}"


def _jira(svc: Services) -> str:
    if not svc.settings.JIRA_URL:
        raise _SkipError("not configured (JIRA_URL)")
    me = svc.jira.myself()
    return f"{svc.settings.JIRA_URL} as {me.display_name}"


def _jamf(svc: Services) -> str:
    url = svc.settings.JAMF_URL
    if not url:
        raise _SkipError("not configured (JAMF_URL)")
    # The version endpoint needs a token, so this proves the OAuth client works, not just the network.
    return f"{url} (Jamf Pro {svc.jamf.version()}), signed in as API client"


TEMPLATE_MODE = "template mode: plain wording, same numbers"


def _ollama(svc: Services) -> str:
    """Says which wording mode remedy is in: the model (grounded, cached) or templates, and why."""
    host = svc.settings.OLLAMA_HOST
    if not host:
        raise _SkipError(f"not configured (OLLAMA_HOST): {TEMPLATE_MODE}")
    try:
        r = httpx.get(host.rstrip("/") + "/api/tags", timeout=svc.settings.REMEDY_HTTP_TIMEOUT)
        r.raise_for_status()
    except httpx.HTTPError as exc:
        raise ValueError(f"{host} unreachable ({type(exc).__name__}); {TEMPLATE_MODE}") from None
    models = [m.get("name", "") for m in r.json().get("models", [])]
    model = svc.settings.OLLAMA_MODEL
    if model not in models:
        raise ValueError(f"model {model} is not pulled (have: {', '.join(models) or 'none'}; "
                         f"run `ollama pull {model}`); {TEMPLATE_MODE}")
    return f"{host} serving {model} — {svc.llm.mode()}"


def _config(svc: Services) -> str:
    return (f"team: {len(svc.team.people)} people, {len(svc.team.team.groups)} groups ({svc.team.source}); "
            f"workflow '{svc.workflow.name}': {len(svc.workflow.phases)} phases")


CHECKS: list[tuple[str, Callable[[Services], str]]] = [
    ("Redis queue", _redis), ("Database", _database), ("Slack", _slack), ("Jira", _jira),
    ("Jamf Pro", _jamf), ("Ollama", _ollama), ("Config", _config),
]


def run_checks(svc: Services) -> list[Check]:
    return [_timed(name, lambda fn=fn: fn(svc)) for name, fn in CHECKS]  # type: ignore[misc]
