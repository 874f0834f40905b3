"""The production shape for the security and load scenarios: the Bolt app served over HTTP by waitress
in this process (as `remedy serve` builds it), real Redis and PostgreSQL, signed Slack requests, and
`remedy worker` as a separate process (or, where a test steps simulated time, jobs run in-process)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import redis
from waitress.server import create_server

from bot.app import create_app
from bot.jamf_webhook import JamfWebhooks
from bot.server import wsgi_app
from remedy.db import upgrade
from remedy.queue import connect
from remedy.sandbox.run import HOME_CHANNEL, Sandbox
from remedy.services import Services, set_services
from remedy.slack.signing import FORM, block_action_body, signed_headers, slash_body
from tests.conftest import ROOT

QUEUE = "remedy-chaos"


@dataclass
class Served:
    base: str  # http://127.0.0.1:port
    sandbox: Sandbox
    services: Services
    secret: str  # Slack signing secret
    webhook_secret: str
    env: dict[str, str]  # what a `remedy worker` process needs

    @property
    def url(self) -> str:
        return self.base + "/slack/events"

    def secrets(self) -> dict[str, str]:
        """Every credential this deployment holds, by setting name."""
        s = self.services.settings
        return {name: s.secret(name) for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "JIRA_API_TOKEN",
                                                  "JAMF_CLIENT_SECRET", "REMEDY_JAMF_WEBHOOK_SECRET")}


@contextmanager
def serve(sandbox: Sandbox, database_url: str, redis_url: str, threads: int = 8, **extra: Any) -> Iterator[Served]:
    secret, hook = secrets.token_hex(16), secrets.token_hex(16)
    values = {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "REMEDY_QUEUE": QUEUE,
              "REMEDY_RETRY_DELAYS": "[0]", "REMEDY_JAMF_WEBHOOK_SECRET": hook, **{k: str(v) for k, v in extra.items()}}
    env = {**sandbox.env(secret), **values}
    upgrade(database_url)
    settings = sandbox.settings(database_url, secret, **{**values, "REMEDY_RETRY_DELAYS": [0], **extra})
    services = Services.from_settings(settings, connection=connect(redis_url))
    services.clock = sandbox.now  # jobs run in this process (run_jobs) follow the simulators' time
    app = wsgi_app(create_app(services), JamfWebhooks.from_services(services))
    server = create_server(app, host="127.0.0.1", port=0, threads=threads)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield Served(f"http://127.0.0.1:{server.effective_port}", sandbox, services, secret, hook, env)
    finally:
        server.close()
        set_services(None)
        services.close()


def slash(served: Served, client: httpx.Client, text: str, user: str = "U01ALICE", *, secret: str | None = None,
          timestamp: int | None = None, signed: bool = True) -> tuple[httpx.Response, str]:
    """POST a signed `/remedy text` as Slack does; returns the response and the command's response URL."""
    response_url = served.sandbox.slack_state.new_response_url(HOME_CHANNEL, user)
    body = slash_body(text, user, HOME_CHANNEL, response_url)
    headers = signed_headers(secret or served.secret, body, FORM, timestamp) if signed else {"Content-Type": FORM}
    return client.post(served.url, content=body, headers=headers), response_url


def press(served: Served, client: httpx.Client, button: dict[str, Any], user: str,
          message_ts: str) -> tuple[httpx.Response, str]:
    response_url = served.sandbox.slack_state.new_response_url(HOME_CHANNEL, user)
    body = block_action_body(user, HOME_CHANNEL, message_ts, button["action_id"], button.get("value", ""),
                             response_url)
    return client.post(served.url, content=body, headers=signed_headers(served.secret, body, FORM)), response_url


def run_jobs(served: Served, timeout: float = 60.0) -> None:
    """Run every queued job in this process (its clock is the simulators'), until the queue is empty."""
    from workers.inprocess import InProcessWorker

    set_services(served.services)
    InProcessWorker(served.services.queue).drain(timeout)


def worker_burst(served: Served, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    """`remedy worker --burst` as its own process: runs what is queued, then exits."""
    done = subprocess.run([sys.executable, "-m", "remedy_cli.cli", "worker", "--burst"],
                          env={**os.environ, **served.env}, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def job_keys(conn: redis.Redis) -> list[bytes]:
    return list(conn.scan_iter(match="rq:job:*"))


def redis_values(conn: redis.Redis) -> Iterator[tuple[bytes, bytes]]:
    """(key, value) for every value stored in this Redis database: strings, hash fields, list, set and
    sorted-set members, stream entries."""
    for key in conn.scan_iter():
        kind = conn.type(key)
        if kind == b"string":
            yield key, conn.get(key) or b""
        elif kind == b"hash":
            for name, value in conn.hgetall(key).items():
                yield key, name
                yield key, value
        elif kind == b"list":
            yield from ((key, v) for v in conn.lrange(key, 0, -1))
        elif kind == b"set":
            yield from ((key, v) for v in conn.smembers(key))
        elif kind == b"zset":
            yield from ((key, v) for v, _ in conn.zrange(key, 0, -1, withscores=True))
        elif kind == b"stream":
            for _, fields in conn.xrange(key):
                for name, value in fields.items():
                    yield key, name
                    yield key, value
