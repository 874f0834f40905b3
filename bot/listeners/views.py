"""Modals: the command palette opened from App Home (a place with no message box)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.deps import BotDeps
from bot.dispatch import handle
from remedy.queue import Origin
from remedy.slack.blocks import PALETTE_CALLBACK, PALETTE_OPEN_ACTION, info_modal, palette_modal
from remedy.slack.mrkdwn import unescape

ERROR_MAX = 300


def _submitted(body: dict[str, Any], view: dict[str, Any]) -> tuple[str, Origin]:
    values = (view.get("state") or {}).get("values") or {}
    text = str(((values.get("cmd") or {}).get("text") or {}).get("value") or "")
    channel = ((values.get("where") or {}).get("channel") or {}).get("selected_conversation")
    urls = [u for u in body.get("response_urls") or [] if u.get("block_id") == "where"]
    origin = Origin(user_id=body["user"]["id"], channel_id=channel,
                    response_url=urls[0]["response_url"] if urls else None,
                    trigger_id=body.get("trigger_id"), team_id=(body.get("team") or {}).get("id"),
                    text=text, source="modal")
    return text, origin


def _plain_error(text: str) -> str:
    # Modal errors are plain text: drop the mrkdwn decorations the chat answers use.
    return unescape(text.replace("`", "").replace("*", ""))[:ERROR_MAX]


def register(app: App, deps: BotDeps) -> None:
    def open_ack(ack: Ack) -> None:
        ack()

    def open_palette(body: dict[str, Any], client: WebClient) -> None:
        # Runs right after the ack (lazy): Slack's trigger id is good for 3 s.
        client.views_open(trigger_id=body["trigger_id"], view=palette_modal())

    app.action(PALETTE_OPEN_ACTION)(ack=open_ack, lazy=[open_palette])

    @app.view(PALETTE_CALLBACK)
    def submit(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        text, origin = _submitted(body, view)
        if not text.strip():
            ack(response_action="errors", errors={"cmd": "Type a command, e.g. work CPE-3222"})
            return
        reply = handle(deps, text, origin)
        if reply.job_id:
            ack()  # closes the modal; the job answers in the chosen conversation
        elif reply.refused:
            ack(response_action="errors", errors={"cmd": _plain_error(reply.text)})
        else:
            ack(response_action="update", view=info_modal("remedy help", reply.blocks))
