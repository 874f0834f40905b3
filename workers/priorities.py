"""`/remedy priorities` (`my queue`): the user's open tickets, highest priority first, and why."""

from __future__ import annotations

from typing import Any

from remedy.commands import PersonRef
from remedy.jira.jql import quote
from remedy.slack import blocks
from remedy.slack.mrkdwn import BLOCKS_MAX, escape
from remedy.team.resolve import resolve_jira_user
from remedy.workflow.priority import Ranked
from remedy.workflow.priority_view import PRIORITY_FIELDS, priority_line, rank_issues
from workers.context import job_context

# The Slack-id → email lookup `blocked` uses too; private there, shared rather than copied.
from workers.jira_actions import slack_email

# The header and the footer take a block each; the rest hold the lines.
_LINE_BLOCKS = BLOCKS_MAX - 2


def priorities(origin: dict[str, Any], key: str | None = None, **_: Any) -> None:
    """Scored by the rules in priority.yml (no model involved), exposure from the last stored
    compliance snapshot (no Jamf call), overrides marked; shown only to the user."""
    with job_context(origin) as ctx:
        svc = ctx.services
        ref = PersonRef(raw=f"<@{ctx.user}>", kind="mention", slack_id=ctx.user)
        who = resolve_jira_user(ref, svc.team, svc.jira, slack_email(ctx))
        found = svc.jira.search(f"assignee = {quote(who.account_id)}", fields=PRIORITY_FIELDS)
        mine = [issue for issue in found if not issue.is_done]
        if not mine:
            ctx.done("You have no open tickets assigned to you in Jira.")
            return
        ranked = rank_issues(svc, mine)
        head = f"🎚 *Your queue*: {len(ranked)} open ticket{'s' if len(ranked) != 1 else ''}, highest priority first"
        foot = "Rules: priority.yml · override with `priority KEY P1 because …` · exposure from `compliance KEY`"
        lines = [_line(n, r) for n, r in enumerate(ranked, 1)]
        ctx.show(head, [blocks.section(head), *blocks.packed_sections(lines, _LINE_BLOCKS), blocks.context(foot)])


def _line(n: int, ranked: Ranked) -> str:
    """'1. *CPE-3445* Slack 4.36 update — P1: …'"""
    return f"{n}. *{ranked.facts.key}* {escape(ranked.facts.summary)} — {priority_line(ranked.score, ranked.override)}"


