"""remedy as production runs it, for the chaos scenarios: the Bolt app served over HTTP by waitress
(as `remedy serve` does) in the test process, `remedy worker` / `remedy cron` as real subprocesses,
Redis and PostgreSQL reached through :class:`~tests.chaos.proxy.TcpProxy` so a test can take them
away from remedy alone, and the simulators over HTTP with latency before *and after* each request
(after: the write is done but the answer has not arrived — the crash point exactly-once is about).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import httpx
import redis
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry
from rq.serializers import JSONSerializer
from sqlalchemy import select
from sqlalchemy.engine import make_url
from waitress.server import create_server

from bot.app import create_app
from bot.jamf_webhook import JamfWebhooks
from bot.server import wsgi_app
from remedy.db import upgrade
from remedy.db.models import AuditEvent
from remedy.db.session import Database
from remedy.queue import connect
from remedy.sandbox.run import HOME_CHANNEL, Sandbox
from remedy.sandbox.server import RunningSim, start
from remedy.services import Services
from remedy.slack.signing import FORM, block_action_body, signed_headers, slash_body
from tests.chaos.proxy import TcpProxy
from tests.conftest import ROOT
from tests.slackview import block_texts, button

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

JOB_ID = re.compile(r"job `([A-Za-z0-9_-]+)`")
ALICE, SARAH = "U01ALICE", "U02SARAH"  # engineer, lead (remedy/defaults/team.yml)


def wait_for(what: str, check: Callable[[], Any], timeout: float = 30.0, every: float = 0.05) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


# -- simulators with latency around every request ---------------------------------------------------------
class Jitter:
    """WSGI middleware: a seeded random pause before the simulator handles a request and another after
    (the state has changed, the client has no answer yet)."""

    def __init__(self, app: WSGIApplication, rng: random.Random, low: float, high: float) -> None:
        self.app, self.rng, self.low, self.high = app, rng, low, high
        self.lock = threading.Lock()

    def pause(self) -> float:
        with self.lock:
            return self.rng.uniform(self.low, self.high) / 2

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Any:
        time.sleep(self.pause())
        body = list(self.app(environ, start_response))
        time.sleep(self.pause())
        return body


def jittered(sandbox: Sandbox, rng: random.Random, low: float, high: float) -> None:
    """Serve the Jira, Jamf and Slack simulators again behind :class:`Jitter` (same state objects)."""
    for name in ("jira", "jamf", "slack"):
        old: RunningSim = getattr(sandbox, name)
        old.stop()
        new = start(Jitter(old.app, rng, low, high), old.state, port=old.port)
        setattr(sandbox, name, new)


# -- remedy's processes ------------------------------------------------------------------------------------
def descendants(pid: int) -> list[int]:
    """Children, grandchildren… of ``pid`` (read from /proc before anything is killed, as orphans
    are re-parented)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        kids = parents.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


@dataclass
class Proc:
    """A `remedy …` subprocess in its own process group (an RQ worker forks a work horse per job: a
    machine or container dying takes both, so a kill is sent to the group)."""

    argv: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None
    _out: IO[bytes] | None = None

    def start(self) -> Proc:
        self._out = self.log.open("ab")
        self.popen = subprocess.Popen([sys.executable, "-m", "remedy_cli.cli", *self.argv], env=self.env, cwd=ROOT,
                                      stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL to the process and every process it started (RQ's work horse puts itself in a
        process group of its own), all at once: no cleanup of any kind, as when the machine goes away."""
        if self.popen is not None:
            for pid in [self.popen.pid, *descendants(self.popen.pid)]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        self._signal(signal.SIGTERM)

    def _signal(self, sig: signal.Signals) -> None:
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)
        try:
            self.popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=5)
        if self._out is not None:
            self._out.close()
        self.popen = None


@dataclass
class Stack:
    """The simulators, the web app, and what a test needs to start workers and look at the outcome."""

    sandbox: Sandbox
    env: dict[str, str]
    secret: str
    url: str
    redis_proxy: TcpProxy
    pg_proxy: TcpProxy
    queue: str
    rq: redis.Redis  # direct, never through the proxy: the test's own view of Redis
    db: Database  # direct, likewise
    services: Services  # the web app's, through the proxies
    logs: Path
    procs: list[Proc] = field(default_factory=list)

    # -- processes ---------------------------------------------------------------------------------------
    def worker(self) -> Proc:
        proc = Proc(["worker"], self.env, self.logs / "worker.log").start()
        self.procs.append(proc)
        return proc

    def cron(self, every: float = 0.5) -> Proc:
        proc = Proc(["cron", "--every", str(every)], self.env, self.logs / f"cron-{len(self.procs)}.log").start()
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in self.procs:
            proc.stop()

    # -- Slack → the web app -----------------------------------------------------------------------------
    def slash(self, text: str, user: str = ALICE, channel: str = HOME_CHANNEL) -> Said:
        response_url = self.sandbox.slack_state.new_response_url(channel, user)
        body = slash_body(text, user, channel, response_url)
        started = time.perf_counter()
        resp = httpx.post(self.url, content=body, headers=signed_headers(self.secret, body, FORM), timeout=10)
        took = time.perf_counter() - started
        assert resp.status_code == 200, resp.text
        return Said(text, str(resp.json().get("text", "")), response_url, took)

    def press(self, btn: dict[str, Any], user: str, channel: str = HOME_CHANNEL, message_ts: str = "",
              ephemeral: bool = False) -> Said:
        """Press a button; the web app's answer (⏳ with the job id) arrives on the response URL."""
        slack = self.sandbox.slack_state
        response_url = slack.new_response_url(channel, user, None if ephemeral else message_ts or None)
        body = block_action_body(user, channel, message_ts, btn["action_id"], btn.get("value", ""), response_url,
                                 is_ephemeral=ephemeral)
        started = time.perf_counter()
        resp = httpx.post(self.url, content=body, headers=signed_headers(self.secret, body, FORM), timeout=10)
        took = time.perf_counter() - started
        assert resp.status_code == 200, resp.text
        first = wait_for(f"the answer to pressing {btn['text']['text']}", lambda: slack.response_posts(response_url))
        return Said(btn["text"]["text"], first[0].text, response_url, took)

    def view(self, response_url: str) -> str:
        """What the user sees on a response URL now (text and blocks)."""
        view = self.sandbox.slack_state.response_view(response_url)
        return "" if view is None else view.text + "\n" + block_texts(view.blocks)

    def retry_button(self, response_url: str) -> dict[str, Any] | None:
        view = self.sandbox.slack_state.response_view(response_url)
        if view is None or not view.text.startswith("❌"):
            return None
        return button(view.blocks, "Retry")

    # -- the queue, seen directly -----------------------------------------------------------------------------
    def job(self, job_id: str) -> Job:
        return Job.fetch(job_id, connection=self.rq, serializer=JSONSerializer)

    def status(self, job_id: str) -> JobStatus | None:
        try:
            return self.job(job_id).get_status()
        except Exception:  # not there (yet)
            return None

    def expire_started(self, job_id: str) -> int:
        """Compress the wait RQ needs to notice a dead worker: its run of ``job_id`` stays in the
        started registry until the worker's heartbeat TTL lapses (≥ 90 s), then the next maintenance
        run (at a worker's start-up, or every 10 min) fails or retries it. Setting the entry's expiry to
        the past is what those 90 s would do; the restarted worker then takes it the normal way."""
        registry = StartedJobRegistry(self.queue, connection=self.rq, serializer=JSONSerializer)
        members = [m.decode() for m in self.rq.zrange(registry.key, 0, -1)]  # type: ignore[union-attr]
        mine = [m for m in members if m.split(":", 1)[0] == job_id]
        for member in mine:
            self.rq.zadd(registry.key, {member: 1})
        return len(mine)

    # -- the audit trail, seen directly -----------------------------------------------------------------------
    def audited(self, action: str) -> list[AuditEvent]:
        with self.db.session() as s:
            return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))


@dataclass(frozen=True)
class Said:
    text: str
    answer: str  # the ack (slash) or the first response (button)
    response_url: str
    took: float  # seconds the web app took to answer

    @property
    def job_id(self) -> str:
        found = JOB_ID.search(self.answer)
        assert found, f"no job id in {self.answer!r}"
        return found.group(1)


def _serve(services: Services) -> tuple[str, Callable[[], None]]:
    app = wsgi_app(create_app(services), JamfWebhooks.from_services(services))  # as `remedy serve` builds it
    server = create_server(app, host="127.0.0.1", port=0, threads=8)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{server.effective_port}/slack/events", server.close  # type: ignore[union-attr]


@contextlib.contextmanager
def stack(pg_url: str, redis_url: str, logs: Path, fleet_size: int = 60, jitter: tuple[float, float] | None = None,
          rng: random.Random | None = None, **settings: str) -> Iterator[Stack]:
    """Everything up; ``settings`` become environment variables of the workers (and the web app's
    settings). Redis and PostgreSQL are reached through proxies; the test looks at them directly."""
    sandbox = Sandbox.start(fleet_size=fleet_size)
    if jitter is not None:
        jittered(sandbox, rng or random.Random(0), *jitter)
    pg, rd = make_url(pg_url), make_url(redis_url)
    pg_proxy = TcpProxy(pg.host or "127.0.0.1", pg.port or 5432)
    redis_proxy = TcpProxy(rd.host or "127.0.0.1", rd.port or 6379)
    secret, queue = secrets.token_hex(16), f"chaos-{secrets.token_hex(3)}"
    db_via_proxy = pg.set(host="127.0.0.1", port=pg_proxy.port).render_as_string(hide_password=False)
    redis_via_proxy = f"redis://127.0.0.1:{redis_proxy.port}/{rd.database or 0}"
    extra = {"DATABASE_URL": db_via_proxy, "REDIS_URL": redis_via_proxy, "REMEDY_QUEUE": queue,
             "REMEDY_HTTP_TIMEOUT": "5", **settings}
    env = {**os.environ, **sandbox.env(secret), **extra}
    upgrade(pg_url)
    services = Services.from_settings(sandbox.settings(db_via_proxy, secret, **{
        k: json.loads(v) if k == "REMEDY_RETRY_DELAYS" else v for k, v in extra.items() if k != "DATABASE_URL"}),
        connection=connect(redis_via_proxy))
    url, close = _serve(services)
    db = Database(pg_url)
    the = Stack(sandbox, env, secret, url, redis_proxy, pg_proxy, queue, redis.Redis.from_url(redis_url), db, services,
                logs)
    try:
        yield the
    finally:
        the.stop_all()
        close()
        services.close()
        db.dispose()
        pg_proxy.close()
        redis_proxy.close()
        sandbox.stop()


# -- what people would see twice ----------------------------------------------------------------------------
_TICKET = re.compile(r"[A-Z][A-Z0-9]+-\d+")


def slack_duplicates(slack: Any) -> list[str]:
    """Messages Slack shows twice: two posts carrying one idempotency key (every reply and DM carries
    its key in the message metadata), or two home-thread parents for one ticket in one channel."""
    keys: dict[str, int] = {}
    parents: dict[tuple[str, str], int] = {}
    for msg in slack.all_messages():
        key = ((msg.metadata or {}).get("event_payload") or {}).get("key")
        if msg.thread_ts is None and msg.text.startswith("🧩"):
            found = _TICKET.search(msg.text)
            if found:
                parents[(msg.channel, found.group(0))] = parents.get((msg.channel, found.group(0)), 0) + 1
        elif key:
            keys[key] = keys.get(key, 0) + 1
    return ([f"{k} posted {n}×" for k, n in keys.items() if n > 1]
            + [f"{t} has {n} home threads in {c}" for (c, t), n in parents.items() if n > 1])
