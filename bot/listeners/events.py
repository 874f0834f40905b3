"""Events API: App Home. Slack retries events, so the job id is derived from event_id."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App

from bot.deps import BotDeps
from remedy.queue import Origin, QueueUnavailable

log = logging.getLogger("remedy.bot")


def register(app: App, deps: BotDeps) -> None:
    @app.event("app_home_opened")
    def home_opened(event: dict[str, Any], body: dict[str, Any]) -> None:
        if event.get("tab") not in (None, "home"):
            return
        event_id = str(body.get("event_id") or "")
        origin = Origin(user_id=event["user"], source="event", text="app home")
        try:
            deps.queue.enqueue("workers.home.publish", {}, origin, description="app home",
                               job_id=f"ev-{event_id}" if event_id else None, unique=bool(event_id))
        except QueueUnavailable:
            log.error("could not refresh App Home for %s: queue unreachable", event["user"])
