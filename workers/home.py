"""App Home: the user's focus ticket and how to start."""

from __future__ import annotations

from typing import Any

from remedy import memory
from remedy.slack import blocks
from remedy.slack.mrkdwn import escape
from workers.context import job_context


def publish(origin: dict[str, Any], **_: Any) -> None:
    with job_context(origin) as ctx:
        svc = ctx.services
        focus = memory.get_focus(svc.db, ctx.user)
        person = svc.team.by_slack_id(ctx.user)
        hello = f"👋 Hi {escape(person.name.split()[0])}!" if person else "👋 Hi!"
        lines = [blocks.header("remedy"), blocks.section(hello)]
        if focus:
            lines.append(blocks.section(f"🎯 Your focus: *{escape(focus)}*"))
            lines.append(blocks.actions([blocks.command_button("Open card", "work", focus, style="primary")]))
        else:
            lines.append(blocks.section("No focus ticket yet: type `/remedy work CPE-3222` in a channel."))
        lines.append(blocks.actions([{"type": "button", "text": {"type": "plain_text", "text": "Run a command…"},
                                      "action_id": blocks.PALETTE_OPEN_ACTION, "value": "palette"}]))
        lines.append(blocks.context("`/remedy help` lists every command · `/remedy jobs` shows yours"))
        svc.slack.views_publish(user_id=ctx.user, view={"type": "home", "blocks": lines})
