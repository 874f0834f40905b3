"""Buttons: suggested next actions on cards, and Retry on failed jobs.

A button carries ``{action, ticket, ref}``; pressing it runs the same path as typing the
command, so the job re-reads current state (a stale button is answered, not obeyed).
"""

from __future__ import annotations

import json
import re
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond

from bot.deps import BotDeps
from bot.dispatch import Reply, handle, run
from remedy.commands import Help, parse_button
from remedy.queue import Origin
from remedy.slack.blocks import CMD_ACTION_PREFIX, RETRY_ACTION

BAD_BUTTON = Reply("⚠️ That button is malformed or too old; run the command again.", refused=True)


def _value(body: dict[str, Any]) -> dict[str, Any]:
    try:
        value = json.loads(body["actions"][0].get("value") or "{}")
        return value if isinstance(value, dict) else {}
    except (KeyError, IndexError, ValueError):
        return {}


def _origin(body: dict[str, Any], text: str, ref: str = "") -> Origin:
    container = body.get("container") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    return Origin(user_id=body["user"]["id"], channel_id=channel, response_url=body.get("response_url"),
                  trigger_id=body.get("trigger_id"), team_id=(body.get("team") or {}).get("id"),
                  text=text, source="button", thread_ts=container.get("thread_ts"),
                  extra={"ephemeral": bool(container.get("is_ephemeral")), "ref": ref})


def _press(deps: BotDeps, body: dict[str, Any]) -> Reply:
    value = _value(body)
    action, ticket, ref = value.get("action"), value.get("ticket"), value.get("ref")
    if not isinstance(action, str) or not action:
        return BAD_BUTTON
    ref = ref if isinstance(ref, str) else ""
    if action == "retry":
        return handle(deps, f"retry {ref}", _origin(body, f"retry {ref}", ref)) if ref else BAD_BUTTON
    ticket = ticket if isinstance(ticket, str) and ticket else None
    # The button names a suggestion ("move to plan") about a ticket: parse it as typed about that ticket.
    parsed = parse_button(action, ticket)
    text = parsed.text() if not isinstance(parsed, Help) else action
    return run(deps, parsed, _origin(body, text, ref))


def _answer(respond: Respond, context: BoltContext) -> None:
    # Runs after the ack (lazy listener): the ⏳ or the refusal reaches the user as an ephemeral.
    reply: Reply | None = context.get("remedy_reply")
    if reply is not None:
        respond(text=reply.text, blocks=reply.blocks, response_type="ephemeral", replace_original=False)


def register(app: App, deps: BotDeps) -> None:
    def press(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        context["remedy_reply"] = _press(deps, body)
        ack()

    app.action(re.compile(rf"^{CMD_ACTION_PREFIX}:"))(ack=press, lazy=[_answer])
    app.action(RETRY_ACTION)(ack=press, lazy=[_answer])

    @app.action("remedy_link")
    def link(ack: Ack) -> None:
        ack()  # URL buttons open the link in Slack; we only have to acknowledge the click
