"""Go / No-go / Hold on a rollout card.

The role is checked here, before anything is queued (a refusal is answered and audited), and
again in the job. Go and Hold are queued at once; No-go first asks for the reason in a modal
(opened right after the ack, while Slack's trigger id is valid) and is queued on submit.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.deps import BotDeps
from bot.dispatch import QUEUE_DOWN
from remedy.commands import Role
from remedy.queue import Origin, QueueUnavailable
from remedy.slack.rollout_card import CHOICES, DECIDE_ACTION, NOGO_CALLBACK, nogo_modal

log = logging.getLogger("remedy.bot")
DECIDE_JOB = "workers.decisions.decide"
BAD = "⚠️ That button is malformed or too old; run `rollout next` again."


@dataclass(frozen=True)
class Press:
    decision: int
    ticket: str
    ring: str
    choice: str


def _press(body: dict[str, Any]) -> Press | None:
    try:
        action = body["actions"][0]
        value = json.loads(action.get("value") or "{}")
        choice = str(action["action_id"]).split(":", 1)[1]
        press = Press(int(value["decision"]), str(value["ticket"]), str(value["ring"]), choice)
    except (KeyError, IndexError, ValueError, TypeError):
        return None
    return press if press.choice in CHOICES else None


def _refusal(deps: BotDeps, user: str) -> str | None:
    role = Role.from_name(deps.team.role_of(user))
    if role >= Role.LEAD:
        return None
    return (f"🔒 Only leads and admins can decide a rollout; you are {role.with_article}. "
            "Ask a lead to press the button.")


def _enqueue(deps: BotDeps, press: Press, origin: Origin, reason: str | None = None) -> str:
    args = {"decision": press.decision, "choice": press.choice, "ticket": press.ticket, "ring": press.ring}
    if reason is not None:
        args["reason"] = reason
    try:
        job = deps.queue.enqueue(DECIDE_JOB, args, origin, description=f"{press.choice} {press.ticket} {press.ring}")
    except QueueUnavailable as exc:
        log.error("enqueue of a %s decision failed: %s", press.choice, exc)
        return QUEUE_DOWN
    return f"⏳ Recording *{press.choice}* for {press.ticket} → {press.ring}… (job `{job.id}`)"


def _channel(body: dict[str, Any]) -> str | None:
    found = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
    return str(found) if found else None


def _origin(body: dict[str, Any], press: Press, response_url: str | None, channel: str | None = None) -> Origin:
    channel = channel or _channel(body)
    return Origin(user_id=body["user"]["id"], channel_id=channel, response_url=response_url,
                  team_id=(body.get("team") or {}).get("id"), text=f"{press.choice} {press.ticket} {press.ring}",
                  source="button", extra={"ephemeral": False, "ref": str(press.decision)})


def register(app: App, deps: BotDeps) -> None:
    def press_ack(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        press = _press(body)
        refusal = _refusal(deps, body["user"]["id"]) if press else None
        context["decision_press"] = press
        context["decision_refused"] = refusal
        if press is None:
            context["decision_reply"] = BAD
        elif refusal is not None:
            context["decision_reply"] = refusal
        elif press.choice != "no-go":
            context["decision_reply"] = _enqueue(deps, press, _origin(body, press, body.get("response_url")))
        ack()

    def after(body: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext) -> None:
        press: Press | None = context.get("decision_press")
        if press is not None and context.get("decision_refused"):
            deps.audit(body["user"]["id"], "rollout.refused", press.ticket,
                       {"decision": press.decision, "choice": press.choice, "why": "role"})
        reply: str | None = context.get("decision_reply")
        if reply:
            respond(text=reply, response_type="ephemeral", replace_original=False)
            return
        if press is not None and press.choice == "no-go":
            view = deps.decision(press.decision)
            numbers = view.numbers if view else {"ticket": press.ticket, "next": press.ring, "next_label": press.ring}
            client.views_open(trigger_id=body["trigger_id"],
                              view=nogo_modal(press.decision, numbers, body.get("response_url"), _channel(body)))

    app.action(re.compile(rf"^{DECIDE_ACTION}:"))(ack=press_ack, lazy=[after])

    @app.view(NOGO_CALLBACK)
    def submit(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        meta = json.loads(view.get("private_metadata") or "{}")
        values = (view.get("state") or {}).get("values") or {}
        reason = str(((values.get("reason") or {}).get("text") or {}).get("value") or "").strip()
        if len(reason) < 3:
            ack(response_action="errors", errors={"reason": "Say why, so the team and the ticket know."})
            return
        refusal = _refusal(deps, body["user"]["id"])
        if refusal is not None:
            ack(response_action="errors", errors={"reason": refusal.replace("*", "")[:300]})
            return
        try:
            press = Press(int(meta["decision"]), str(meta["ticket"]), str(meta["ring"]), "no-go")
        except (KeyError, ValueError, TypeError):
            ack(response_action="errors", errors={"reason": BAD})
            return
        origin = _origin(body, press, meta.get("response_url"), meta.get("channel"))
        answer = _enqueue(deps, press, origin, reason)
        if answer == QUEUE_DOWN:
            ack(response_action="errors", errors={"reason": QUEUE_DOWN[:300]})
        else:
            ack()
