"""Confirm / Cancel / Retry on a bulk card.

The role is checked here before anything is queued (a refusal is answered and audited), and again in
the job, which also checks who asked, the size limit and the card's state (first press wins).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond

from bot.deps import BotDeps
from bot.dispatch import QUEUE_DOWN
from remedy.commands import Role
from remedy.queue import Origin, QueueUnavailable
from remedy.slack.bulk_card import BULK_ACTION, press_value

log = logging.getLogger("remedy.bot")
PRESS_JOB = "workers.bulk.press"
BAD = "⚠️ That button is malformed or too old; run the bulk command again."
_DOING = {"confirm": "Confirming", "cancel": "Cancelling", "retry": "Retrying the failed tickets of"}


def _refusal(deps: BotDeps, user: str) -> str | None:
    role = Role.from_name(deps.team.role_of(user))
    if role >= Role.ENGINEER:
        return None
    return f"🔒 Bulk writes need the *engineer* role; you are {role.with_article}."


def _enqueue(deps: BotDeps, body: dict[str, Any], op_id: int, choice: str) -> str:
    container = body.get("container") or {}
    origin = Origin(user_id=body["user"]["id"], channel_id=(body.get("channel") or {}).get("id")
                    or container.get("channel_id"), response_url=body.get("response_url"),
                    team_id=(body.get("team") or {}).get("id"), text=f"bulk {choice} {op_id}", source="button",
                    extra={"ephemeral": False, "ref": str(op_id)})
    try:
        job = deps.queue.enqueue(PRESS_JOB, {"op": op_id, "choice": choice}, origin,
                                 description=f"bulk {choice} {op_id}")
    except QueueUnavailable as exc:
        log.error("enqueue of a bulk %s failed: %s", choice, exc)
        return QUEUE_DOWN
    return f"⏳ {_DOING[choice]} bulk operation {op_id}… (job `{job.id}`)"


def register(app: App, deps: BotDeps) -> None:
    def press_ack(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        press = press_value(body)
        refusal = _refusal(deps, body["user"]["id"]) if press else None
        context["bulk_press"], context["bulk_refused"] = press, refusal
        if press is None:
            context["bulk_reply"] = BAD
        elif refusal is not None:
            context["bulk_reply"] = refusal
        else:
            context["bulk_reply"] = _enqueue(deps, body, *press)
        ack()

    def after(body: dict[str, Any], respond: Respond, context: BoltContext) -> None:
        press: tuple[int, str] | None = context.get("bulk_press")
        if press is not None and context.get("bulk_refused"):
            deps.audit(body["user"]["id"], "bulk.refused", f"bulk:{press[0]}", {"choice": press[1], "why": "role"})
        reply: str | None = context.get("bulk_reply")
        if reply:
            respond(text=reply, response_type="ephemeral", replace_original=False)

    app.action(re.compile(rf"^{BULK_ACTION}:"))(ack=press_ack, lazy=[after])
