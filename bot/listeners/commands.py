"""The `/remedy` slash command."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.deps import BotDeps
from bot.dispatch import handle
from remedy.queue import Origin


def origin_from_command(command: dict[str, Any]) -> Origin:
    return Origin(user_id=command["user_id"], channel_id=command.get("channel_id"),
                  response_url=command.get("response_url"), trigger_id=command.get("trigger_id"),
                  team_id=command.get("team_id"), text=command.get("text", ""), source="slash")


def register(app: App, deps: BotDeps) -> None:
    @app.command("/remedy")
    def remedy_command(ack: Ack, command: dict[str, Any]) -> None:
        reply = handle(deps, command.get("text", ""), origin_from_command(command))
        ack(text=reply.text, blocks=reply.blocks, response_type="ephemeral")
