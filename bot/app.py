"""The Bolt app factory: one app for HTTP and Socket Mode, signature verification on."""

from __future__ import annotations

import logging
from concurrent.futures import Executor

from slack_bolt import App
from slack_sdk import WebClient

from bot.deps import BotDeps
from bot.listeners import actions, commands, decisions, drafts, events, home, views
from bot.listeners import bulk as bulk_listener
from remedy.services import Services


def create_app(services: Services, *, client: WebClient | None = None,
               token_verification: bool = True, executor: Executor | None = None) -> App:
    """Build the Bolt app. Listeners ack only after enqueueing, so they run before the response
    (``process_before_response``): no 10 ms ack-polling per request, and lazy listeners still
    run in the background."""
    settings = services.settings
    settings.require("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
    app = App(
        signing_secret=settings.secret("SLACK_SIGNING_SECRET"),
        client=client or services.slack,
        process_before_response=True,
        token_verification_enabled=token_verification,
        logger=logging.getLogger("remedy.bolt"),
        listener_executor=executor,
    )
    deps = BotDeps.from_services(services)
    commands.register(app, deps)
    actions.register(app, deps)
    events.register(app, deps)
    views.register(app, deps)
    drafts.register(app, deps)
    decisions.register(app, deps)
    home.register(app, deps)
    bulk_listener.register(app, deps)
    return app
