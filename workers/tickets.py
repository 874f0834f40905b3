"""Ticket jobs: open a ticket (card + focus)."""

from __future__ import annotations

from typing import Any

from remedy import memory
from remedy.errors import UserError
from remedy.slack import cards
from remedy.slack.mrkdwn import escape
from workers.context import audit, job_context, thread_reply


def work(origin: dict[str, Any], key: str, **_: Any) -> None:
    """`/remedy work KEY`: post the ticket card in its home thread and make it the user's focus."""
    with job_context(origin) as ctx:
        svc = ctx.services
        issue = svc.jira.get_issue(key)
        jira_url = svc.settings.JIRA_URL
        text, card = cards.ticket_card(issue, svc.workflow_for(issue), jira_url, ref=ctx.job_id)
        posted = thread_reply(ctx, issue, text, card, "card")
        memory.set_focus(svc.db, ctx.user, issue.key)
        audit(ctx, "ticket.work", issue.key, channel=ctx.channel, ts=posted.ts)
        ctx.done(f"*{issue.key}* is your focus now — {escape(issue.summary)} "
                 f"({escape(cards.phase_name(issue, svc.workflow_for(issue)))}); the card is in its thread.")


def my_focus(origin: dict[str, Any], key: str | None = None, **_: Any) -> None:
    """`/remedy my focus`: the focus ticket's card, shown only to the user who asked."""
    with job_context(origin) as ctx:
        svc = ctx.services
        key = key or memory.get_focus(svc.db, ctx.user)
        if key is None:
            raise UserError("You have no focus ticket yet: `/remedy work CPE-3222` sets one.")
        issue = svc.jira.get_issue(key)
        text, card = cards.ticket_card(issue, svc.workflow_for(issue), svc.settings.JIRA_URL, ref=ctx.job_id)
        ctx.show(f"🎯 Your focus: {text}", card)
