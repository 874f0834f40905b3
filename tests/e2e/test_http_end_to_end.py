"""Slack → HTTP → Bolt (served by waitress, as `remedy serve` does) → real Redis → a separate
`remedy worker` process → Slack simulator, with PostgreSQL as the database."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from waitress.server import create_server

from bot.app import create_app
from bot.jamf_webhook import JamfWebhooks
from bot.server import wsgi_app
from remedy.db import upgrade
from remedy.queue import connect
from remedy.sandbox.run import Sandbox
from remedy.services import Services
from remedy.slack.signing import FORM, signed_headers, slash_body
from tests.conftest import ROOT
from tests.slackview import block_texts, buttons

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


@dataclass
class Served:
    url: str
    env: dict[str, str]
    secret: str
    sandbox: Sandbox


@pytest.fixture
def served(sandbox: Sandbox, pg_url: str, redis_url: str) -> Iterator[Served]:
    secret = secrets.token_hex(16)
    env = {**sandbox.env(secret), "DATABASE_URL": pg_url, "REDIS_URL": redis_url,
           "REMEDY_QUEUE": "remedy-e2e", "REMEDY_RETRY_DELAYS": "[0]"}
    upgrade(pg_url)
    settings = sandbox.settings(pg_url, secret, REDIS_URL=redis_url, REMEDY_QUEUE="remedy-e2e")
    services = Services.from_settings(settings, connection=connect(redis_url))
    app = wsgi_app(create_app(services), JamfWebhooks.from_services(services))  # as `remedy serve` builds it
    server = create_server(app, host="127.0.0.1", port=0, threads=8)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield Served(f"http://127.0.0.1:{server.effective_port}/slack/events", env, secret, sandbox)
    server.close()
    services.close()


def _post(served: Served, text: str, *, timestamp: int | None = None,
          secret: str | None = None) -> tuple[httpx.Response, str]:
    response_url = served.sandbox.slack_state.new_response_url("C0CPETEAM", "U01ALICE")
    body = slash_body(text, "U01ALICE", "C0CPETEAM", response_url)
    headers = signed_headers(secret or served.secret, body, FORM, timestamp)
    return httpx.post(served.url, content=body, headers=headers, timeout=5), response_url


def _run_worker(served: Served) -> None:
    env = {**os.environ, **served.env}
    done = subprocess.run([sys.executable, "-m", "remedy_cli.cli", "worker", "--burst"], env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_slash_command_over_http_to_worker_process(served: Served) -> None:
    start = time.perf_counter()
    resp, response_url = _post(served, "work CPE-3222")
    ack_seconds = time.perf_counter() - start
    assert resp.status_code == 200 and resp.json()["text"].startswith("⏳")
    assert ack_seconds < 3  # Slack's limit; the benchmark measures the real figure
    slack = served.sandbox.slack_state
    assert slack.messages("C0CPETEAM") == []  # nothing happens until a worker runs

    _run_worker(served)

    [parent] = slack.messages("C0CPETEAM")
    thread = slack.thread("C0CPETEAM", parent.ts)
    assert [m.thread_ts for m in thread[1:]] == [parent.ts]
    card = thread[1]
    assert "CPE-3222 · Chrome 120 security update" in block_texts(card.blocks)
    assert {b["text"]["text"] for b in buttons(card.blocks)} >= {"Compliance", "Rollout next"}
    posts = slack.response_posts(response_url)
    assert posts[-1].text.startswith("✅") and posts[-1].replace_original

    _post(served, "work CPE-3222")
    _run_worker(served)
    assert slack.thread("C0CPETEAM", parent.ts)[0].edits == 1  # status line edited, thread reused


def test_unsigned_and_replayed_requests_are_rejected_over_http(served: Served) -> None:
    forged, _ = _post(served, "work CPE-3222", secret="not-the-secret")
    replayed, _ = _post(served, "work CPE-3222", timestamp=int(time.time()) - 6 * 60)
    assert forged.status_code == 401 and replayed.status_code == 401
    _run_worker(served)
    assert served.sandbox.slack_state.messages("C0CPETEAM") == []


def test_health_probe(served: Served) -> None:
    assert httpx.get(served.url.replace("/slack/events", "/healthz"), timeout=5).text == "ok"
