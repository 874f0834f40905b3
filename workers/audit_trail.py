"""`/remedy audit trail [KEY|all] [since …]`: the readable timeline of the audit events, paged. Read-only:
a retried job shows the same page again."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from remedy.audit.trail import ALL_DAYS, load_page, since_moment
from remedy.commands.model import When
from remedy.slack.audit_view import trail_blocks
from remedy.slack.mrkdwn import escape
from workers.context import JobContext, job_context

_REF = re.compile(r"^page:(\d{1,6}):upto:(\d{1,18})$")


def audit_trail(origin: dict[str, Any], key: str | None = None, since: dict[str, Any] | None = None,
                **_: Any) -> None:
    with job_context(origin) as ctx:
        svc = ctx.services
        person = svc.team.by_slack_id(ctx.user)
        tz = person.timezone if person is not None else "UTC"
        now = svc.clock()
        start = since_moment(When.model_validate(since), tz, now) if since else None
        if start is None and key is None:
            start = now - timedelta(days=ALL_DAYS)
        page, upto = _page(ctx)
        trail = load_page(svc.db, key, start, page, upto)
        if not trail.events:
            subject = f"*{key}*" if key else "any ticket"
            window = f" since {escape(since['raw'])}" if since else (f" in the last {ALL_DAYS} days" if not key else "")
            ctx.done(f"No audit events for {subject}{window}.")
            return
        text, blks = trail_blocks(trail, tz, lambda who: _name(ctx, who), svc.settings.JIRA_URL,
                                  svc.settings.JAMF_URL)
        ctx.show(text, blks)


def _page(ctx: JobContext) -> tuple[int, int | None]:
    found = _REF.match(str(ctx.origin.extra.get("ref") or ""))
    if found is None:
        return 1, None
    return max(1, int(found.group(1))), int(found.group(2))


def _name(ctx: JobContext, who: str) -> str:
    if who == "cron":
        return "remedy (scheduled)"
    person = ctx.services.team.by_slack_id(who)
    return person.name if person is not None else who
