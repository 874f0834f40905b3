"""The Edit button on a draft comment: a modal with the draft's text; saving replaces the card."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.deps import BotDeps
from bot.dispatch import run
from remedy.commands import EditDraft
from remedy.queue import Origin
from remedy.slack.blocks import DRAFT_EDIT_ACTION, DRAFT_EDIT_CALLBACK, draft_edit_modal


def _pressed(body: dict[str, Any]) -> tuple[str, int] | None:
    try:
        value = json.loads(body["actions"][0]["value"])
        return str(value["ticket"]), int(value["ref"])
    except (KeyError, IndexError, ValueError, TypeError):
        return None


def register(app: App, deps: BotDeps) -> None:
    def edit_ack(ack: Ack) -> None:
        ack()

    def open_editor(body: dict[str, Any], client: WebClient) -> None:
        pressed = _pressed(body)
        draft = deps.draft(pressed[1]) if pressed else None
        if pressed is None or draft is None or draft.slack_user_id != body["user"]["id"] or draft.status != "draft":
            return  # stale or foreign button: the Post/Discard paths explain; nothing to edit here
        client.views_open(trigger_id=body["trigger_id"],
                          view=draft_edit_modal(pressed[0], pressed[1], draft.text, body.get("response_url")))

    app.action(DRAFT_EDIT_ACTION)(ack=edit_ack, lazy=[open_editor])

    @app.view(DRAFT_EDIT_CALLBACK)
    def save(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        meta = json.loads(view.get("private_metadata") or "{}")
        values = (view.get("state") or {}).get("values") or {}
        text = str(((values.get("body") or {}).get("text") or {}).get("value") or "").strip()
        if not text:
            ack(response_action="errors", errors={"body": "A comment can't be empty."})
            return
        origin = Origin(user_id=body["user"]["id"], response_url=meta.get("response_url") or None,
                        text=f"edit draft {meta.get('key')}", source="button",
                        extra={"ephemeral": True, "ref": str(meta.get("draft", ""))})
        reply = run(deps, EditDraft(key=meta.get("key"), body=text), origin)
        if reply.refused:
            ack(response_action="errors", errors={"body": reply.text[:300]})
        else:
            ack()
