"""App Home: the user's focus ticket, their active remediations (paged), and how to start."""

from __future__ import annotations

import logging
from typing import Any

from remedy import memory
from remedy.commands import PersonRef
from remedy.errors import UserError
from remedy.jira.errors import JiraError
from remedy.slack import blocks
from remedy.slack.blocks import Block
from remedy.slack.home_view import active_remediations, active_remediations_blocks
from remedy.slack.mrkdwn import escape
from remedy.team.resolve import resolve_jira_user
from workers.context import JobContext, job_context
from workers.jira_actions import slack_email

log = logging.getLogger("remedy.jobs")


def publish(origin: dict[str, Any], page: int = 1, **_: Any) -> None:
    """Publish the Home tab (on `app_home_opened`, and for the pager's buttons with their ``page``)."""
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
        lines.append({"type": "divider"})
        lines.extend(_remediations(ctx, int(page)))
        lines.append({"type": "divider"})
        lines.append(blocks.actions([{"type": "button", "text": {"type": "plain_text", "text": "Run a command…"},
                                      "action_id": blocks.PALETTE_OPEN_ACTION, "value": "palette"}]))
        lines.append(blocks.context("`/remedy help` lists every command · `/remedy jobs` shows yours"))
        svc.slack.views_publish(user_id=ctx.user, view={"type": "home", "blocks": lines})


def _remediations(ctx: JobContext, page: int) -> list[Block]:
    """The user's active remediations; a Jira that doesn't answer or doesn't know them costs this
    part of Home only, never the tab (it is published either way and refreshed on the next visit)."""
    svc = ctx.services
    ref = PersonRef(raw=f"<@{ctx.user}>", kind="mention", slack_id=ctx.user)
    try:
        who = resolve_jira_user(ref, svc.team, svc.jira, slack_email(ctx))
        return active_remediations_blocks(active_remediations(svc, who.account_id, page))
    except UserError:
        return [blocks.section("🩺 I can't match you to a Jira account, so I can't list your remediations. "
                               "A lead can add your `jira_account_id` to the team directory (team.yml).")]
    except JiraError as exc:
        log.warning("App Home for %s: Jira did not answer (%s)", ctx.user, exc)
        return [blocks.section("⚠️ Jira didn't answer, so your remediations are missing here for now; "
                               "they show the next time you open this tab.")]
