"""App Home's pager: Previous/Next page re-publish the Home tab with that page of remediations."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App

from bot.deps import BotDeps
from remedy.queue import Origin, QueueUnavailable
from remedy.slack.home_view import HOME_PAGE_ACTION, page_from_value

log = logging.getLogger("remedy.bot")


def register(app: App, deps: BotDeps) -> None:
    @app.action(re.compile(rf"^{HOME_PAGE_ACTION}:"))
    def turn_page(ack: Ack, body: dict[str, Any]) -> None:
        user = body["user"]["id"]
        actions: list[dict[str, Any]] = body.get("actions") or [{}]
        page = page_from_value(str(actions[0].get("value") or ""))
        origin = Origin(user_id=user, source="button", text=f"app home page {page}")
        try:
            deps.queue.enqueue("workers.home.publish", {"page": page}, origin, description=f"app home page {page}")
        except QueueUnavailable:
            # Home has no message to answer in; the tab stays as it was and the next press tries again.
            log.error("could not turn App Home to page %s for %s: queue unreachable", page, user)
        ack()
