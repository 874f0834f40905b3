"""The embedded runtime: simulators + the real Bolt app + the real queue and jobs, in one process.

Used by `remedy demo`, `remedy console`, the tests and the benchmarks. Requests are signed
exactly as Slack signs them and go through Bolt's verification.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import fakeredis
import redis
from slack_bolt import App, BoltRequest

from bot.app import create_app
from bot.executor import TrackingExecutor
from remedy.db.migrate import upgrade_engine
from remedy.queue import connect
from remedy.sandbox.run import HOME_CHANNEL, Sandbox
from remedy.services import Services, set_services
from remedy.slack.blocks import PALETTE_CALLBACK
from remedy.slack.signing import FORM, block_action_body, signed_headers, slash_body, view_submission_body
from workers.inprocess import InProcessWorker


@dataclass
class Sent:
    """What Slack got back from the app for one request, and where the app may answer later."""

    status: int
    body: dict[str, Any]
    response_url: str
    text: str = ""

    @property
    def ack_text(self) -> str:
        return str(self.body.get("text", ""))


def wording_settings() -> dict[str, Any]:
    """The demo and console word texts from templates (DESIGN: "template LLM, or a real Ollama if one
    answers"): the sandbox's Ollama stand-in is for tests; a real one is used when OLLAMA_HOST names it."""
    host = os.environ.get("OLLAMA_HOST") or None
    return {"OLLAMA_HOST": host, **({"OLLAMA_MODEL": os.environ["OLLAMA_MODEL"]} if os.environ.get("OLLAMA_MODEL")
                                    else {})}


@dataclass
class Runtime:
    sandbox: Sandbox
    services: Services
    app: App
    worker: InProcessWorker
    signing_secret: str
    executor: TrackingExecutor

    @classmethod
    def start(cls, sandbox: Sandbox, database_url: str, redis_url: str | None = None,
              threaded_worker: bool = False, **settings_overrides: Any) -> Runtime:
        secret = secrets.token_hex(16)
        extra: dict[str, Any] = {"REDIS_URL": redis_url} if redis_url else {}
        settings = sandbox.settings(database_url, secret, **extra, **settings_overrides)
        conn: redis.Redis = connect(redis_url) if redis_url else fakeredis.FakeRedis()
        services = Services.from_settings(settings, connection=conn)
        services.clock = sandbox.now
        upgrade_engine(services.db.engine)
        set_services(services)
        worker = InProcessWorker(services.queue)
        if threaded_worker:
            worker.start()
        executor = TrackingExecutor()
        app = create_app(services, executor=executor)
        return cls(sandbox, services, app, worker, secret, executor)

    def _dispatch(self, body: str, timestamp: int | None = None, signed: bool = True) -> tuple[int, dict[str, Any]]:
        headers: dict[str, str | Sequence[str]] = {
            **signed_headers(self.signing_secret if signed else "wrong-secret", body, FORM, timestamp)}
        resp = self.app.dispatch(BoltRequest(body=body, headers=headers))
        try:
            data = json.loads(resp.body) if resp.body else {}
        except ValueError:
            data = {"text": resp.body}
        return resp.status, data

    def slash(self, text: str, user: str = "U01ALICE", channel: str = HOME_CHANNEL,
              timestamp: int | None = None, signed: bool = True) -> Sent:
        response_url = self.sandbox.slack_state.new_response_url(channel, user)
        status, data = self._dispatch(slash_body(text, user, channel, response_url), timestamp, signed)
        return Sent(status, data, response_url, text)

    def press(self, button: dict[str, Any], user: str = "U01ALICE", channel: str | None = HOME_CHANNEL,
              message_ts: str = "", ephemeral: bool = False) -> Sent:
        """Press a button on a message in ``channel``, or on App Home when ``channel`` is None."""
        response_url = ""
        if channel is not None:
            # A button on a channel message: replace_original would edit that very message.
            response_url = self.sandbox.slack_state.new_response_url(channel, user,
                                                                     None if ephemeral else message_ts or None)
        body = block_action_body(user, channel, message_ts, button["action_id"], button.get("value", ""),
                                 response_url or None, is_ephemeral=ephemeral)
        status, data = self._dispatch(body)
        return Sent(status, data, response_url)

    def submit_palette(self, text: str, channel: str = HOME_CHANNEL, user: str = "U01ALICE") -> Sent:
        """Submit the command palette modal as Slack would, with a response URL for ``channel``."""
        response_url = self.sandbox.slack_state.new_response_url(channel, user)
        values = {"cmd": {"text": {"type": "plain_text_input", "value": text}},
                  "where": {"channel": {"type": "conversations_select", "selected_conversation": channel}}}
        urls = [{"block_id": "where", "action_id": "channel", "channel_id": channel, "response_url": response_url}]
        status, data = self._dispatch(view_submission_body(user, PALETTE_CALLBACK, values, urls))
        return Sent(status, data, response_url, text)

    def submit_view(self, view: dict[str, Any], values: dict[str, dict[str, Any]], user: str = "U01ALICE") -> Sent:
        """Submit an opened modal (as the simulator recorded it) with ``values`` typed in."""
        body = view_submission_body(user, view["callback_id"], values, [],
                                    private_metadata=view.get("private_metadata"))
        status, data = self._dispatch(body)
        return Sent(status, data, "")

    def event(self, event: dict[str, Any], event_id: str | None = None, retry: int = 0) -> int:
        """Send an Events API callback; ``retry`` > 0 mimics Slack's redelivery of the same event."""
        payload = {"type": "event_callback", "team_id": "T0SANDBOX", "api_app_id": "A0REMEDY",
                   "event": event, "event_id": event_id or f"Ev{secrets.token_hex(5)}",
                   "event_time": int(time.time())}
        body = json.dumps(payload)
        headers: dict[str, str | Sequence[str]] = {**signed_headers(self.signing_secret, body, "application/json")}
        if retry:
            headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        return int(self.app.dispatch(BoltRequest(body=body, headers=headers)).status)

    def drain(self, timeout: float = 60.0) -> None:
        """Wait until Bolt's background listeners and every queued job have finished."""
        self.executor.wait_idle(timeout)
        self.worker.drain(timeout)

    def stop(self) -> None:
        self.worker.stop()
        set_services(None)
        self.services.close()
