"""Memory commands: `resume` (what you did last, what changed since), `progress` (what you got done
today or this week, from the audit trail) and `blocked` (what waits on what, oldest first).

"Your tickets" are the ones assigned to you in Jira, the ones you touched lately and your focus.
Every answer is shown only to the user who asked.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from remedy import memory
from remedy.commands import PersonRef
from remedy.errors import UserError
from remedy.jira.errors import JiraInvalid, JiraNotFound
from remedy.jira.jql import in_list, quote
from remedy.jira.models import Issue
from remedy.llm.client import Use
from remedy.llm.words import phrase
from remedy.memory import Change
from remedy.parallel import parallel
from remedy.slack import blocks
from remedy.slack.mrkdwn import BLOCKS_MAX, escape
from remedy.team.resolve import resolve_jira_user
from remedy.tickets import memory as ticket_memory
from workers.context import JobContext, job_context
from workers.jira_actions import slack_email

RESUME = Use(
    name="resume", version=1,
    instructions=("You are remedy, the assistant of a macOS client-platform team. A team member is back; tell "
                  "them in one or two plain sentences what changed on their tickets while they were away and "
                  "what needs them. No greetings, no markdown headings, no lists."),
    fields={"summary": "what changed while they were away and what needs their attention"},
)
FIRST_TIME = ("👋 I haven't seen you before, so there is nothing to resume yet. From now on I remember what you "
              "do through remedy — the tickets you open, move and comment on, your drafts — and `resume` tells "
              "you where you left off and what others changed since. A good start: `work CPE-3222` makes a "
              "ticket your focus, `priorities` shows your queue.")
_ACTORS = {"jamf-webhook": "Jamf", "cron": "remedy"}
_PERIODS = {"today": "today", "week": "this week"}


# -- whose, when ----------------------------------------------------------------------------------------


def _tz(ctx: JobContext) -> ZoneInfo:
    person = ctx.services.team.by_slack_id(ctx.user)
    return memory.zone(person.timezone if person else None)


def _name(ctx: JobContext, actor: str) -> str:
    person = ctx.services.team.by_slack_id(actor)
    return person.name if person else _ACTORS.get(actor, actor)


def _account(ctx: JobContext) -> str | None:
    """The user's Jira account, or None for someone Jira doesn't know (they still have touched tickets)."""
    ref = PersonRef(raw=f"<@{ctx.user}>", kind="mention", slack_id=ctx.user)
    try:
        return resolve_jira_user(ref, ctx.services.team, ctx.services.jira, slack_email(ctx)).account_id
    except UserError:
        return None


def _mine(ctx: JobContext, account: str | None) -> list[Issue]:
    """The user's tickets: assigned and open, touched lately, the focus — each once."""
    svc = ctx.services
    keys = memory.recent_keys(svc.db, ctx.user, svc.clock())
    focus = memory.get_focus(svc.db, ctx.user)
    if focus and focus not in keys:
        keys.append(focus)
    calls = []
    if account is not None:
        calls.append(lambda: [i for i in svc.jira.search(f"assignee = {quote(account)}") if not i.is_done])
    if keys:
        calls.append(lambda: _by_keys(ctx, keys))
    found: dict[str, Issue] = {}
    for issues in parallel(calls):
        for issue in issues:
            found.setdefault(issue.key, issue)
    return list(found.values())


def _by_keys(ctx: JobContext, keys: list[str]) -> list[Issue]:
    jira = ctx.services.jira
    try:
        return list(jira.search(in_list("key", keys)))
    except JiraInvalid:  # Jira refuses the whole query if one key is gone (deleted, moved): ask one by one
        def one(key: str) -> list[Issue]:
            try:
                return [jira.get_issue(key)]
            except JiraNotFound:
                return []
        return [i for found in parallel([lambda k=k: one(k) for k in keys]) for i in found]  # type: ignore[misc]


# -- resume ---------------------------------------------------------------------------------------------


def resume(origin: dict[str, Any], **_: Any) -> None:
    """`/remedy resume`: your last session, your open drafts, and what others changed on your tickets
    since you were last here (read before this command counts as "here")."""
    with job_context(origin) as ctx:
        svc = ctx.services
        seen = memory.last_seen(svc.db, ctx.user)
        if seen is None:
            ctx.show("Nothing to resume yet", [blocks.section(FIRST_TIME)])
            return
        account = _account(ctx)
        mine, bot = parallel([lambda: _mine(ctx, account), lambda: svc.jira.myself().account_id])
        changes = _changes(ctx, mine, seen, {a for a in (account, bot) if a})
        drafts = memory.open_drafts(svc.db, ctx.user)
        head = _headline(ctx, seen, changes, drafts)
        parts = [blocks.section(head), *_last_time(ctx, seen), *_drafts(drafts), *_since(ctx, seen, changes),
                 *_waiting(ctx, [i.key for i in mine])]
        focus = memory.get_focus(svc.db, ctx.user)
        keys = ", ".join(i.key for i in mine) or "none yet"
        where = f" · focus *{focus}*: `my focus`" if focus else ""
        parts.append(blocks.context(f"Your tickets: {keys} (assigned to you, or touched in the last "
                                    f"{memory.RECENT_DAYS} days){where}"))
        ctx.show(head, parts)


def _changes(ctx: JobContext, mine: list[Issue], seen: datetime, skip: set[str]) -> list[Change]:
    svc, keys = ctx.services, [i.key for i in mine]
    now = svc.clock()
    others = memory.events(svc.db, seen, now, other_than=ctx.user, targets=keys)
    phases = {i.key: (p.name if (p := svc.templates.phase_of(i)) else i.status) for i in mine}  # its own names
    said = {c.id: c.body_text for i in mine for c in i.comments}
    found = [*memory.others_changes(others, lambda actor: _name(ctx, actor), said),
             *ticket_memory.comment_changes(mine, seen, skip),
             *ticket_memory.compliance_changes(svc.db, keys, seen),
             *ticket_memory.note_phases(svc.db, phases, now)]
    return sorted(found, key=lambda c: (c.key, c.at))  # per ticket, oldest first


def _headline(ctx: JobContext, seen: datetime, changes: list[Change], drafts: list[memory.OpenDraft]) -> str:
    svc, tz = ctx.services, _tz(ctx)
    when, away = memory.local(seen, tz), memory.ago(svc.clock() - seen)
    if not changes:
        return f"🧭 Nothing changed on your tickets since you were last here ({when}, {away})."
    keys = list(dict.fromkeys(c.key for c in changes))
    plain = (f"Since you were last here ({when}, {away}): {len(changes)} change{'s' if len(changes) != 1 else ''} "
             f"on {', '.join(keys)}.")
    if drafts:
        plain += f" {len(drafts)} draft{'s' if len(drafts) != 1 else ''} not posted yet."
    facts = {"last_here": when, "away": away, "changes": len(changes), "tickets_changed": keys,
             "what_changed": [f"{c.key} {c.text}" for c in changes],
             "drafts_not_posted": len(drafts), "drafts_on": [d.key for d in drafts]}
    return "🧭 " + phrase(svc.llm, RESUME, facts, {"summary": plain})["summary"]


def _last_time(ctx: JobContext, seen: datetime) -> list[dict[str, Any]]:
    session = memory.last_session(ctx.services.db, ctx.user, seen)
    if not session:
        return []
    lines = [f"• *{key or 'Other'}* {memory.tally(found)}" for key, found in memory.by_ticket(session)]
    return blocks.packed_sections(lines, BLOCKS_MAX - 5, f"*Last time* ({memory.local(session[-1].ts, _tz(ctx))}) you:")


def _drafts(drafts: list[memory.OpenDraft]) -> list[dict[str, Any]]:
    lines = [f"• *{d.key}* “{memory.first_line(d.text, 100)}” — `post comment {d.key}` or `discard draft {d.key}`"
             for d in drafts]
    return blocks.packed_sections(lines, BLOCKS_MAX - 5, "*Drafts not posted*:") if lines else []


def _since(ctx: JobContext, seen: datetime, changes: list[Change]) -> list[dict[str, Any]]:
    if not changes:
        return []
    now = ctx.services.clock()
    lines = [f"• *{c.key}* {c.text} · {memory.ago(now - c.at)}" for c in changes]
    title = f"*Since then on your tickets* ({memory.local(seen, _tz(ctx))} → now):"
    return blocks.packed_sections(lines, BLOCKS_MAX - 5, title)


def _waiting(ctx: JobContext, keys: list[str]) -> list[dict[str, Any]]:
    svc = ctx.services
    cards = ticket_memory.pending_cards(svc.db, keys, ctx.user)
    if not cards:
        return []
    labels = ticket_memory.ring_labels(svc.db, sorted({c.key for c in cards}))
    lines = []
    for c in cards:
        rings = " → ".join(labels.get((c.key, name), name) for name in (c.from_ring, c.to_ring))
        lines.append(f"• *{c.key}* {escape(rings)}: waiting {memory.span(svc.clock() - c.created_at)} "
                     f"(asked by {escape(_name(ctx, c.requested_by))})")
    return blocks.packed_sections(lines, BLOCKS_MAX - 5, "*Go/no-go cards waiting for a lead*:")


# -- progress -------------------------------------------------------------------------------------------


def progress(origin: dict[str, Any], period: str = "today", **_: Any) -> None:
    """`/remedy progress [today|week]`: your actions from the audit trail, per ticket, with the day
    (or the week, from Monday) starting at midnight where you are (team.yml timezone)."""
    with job_context(origin) as ctx:
        svc, tz = ctx.services, _tz(ctx)
        now, label = svc.clock(), _PERIODS.get(period, "today")
        start = memory.period_start(now, tz, period)
        # `events` reads after its start: a hair earlier, so an action at midnight itself counts.
        found = memory.events(svc.db, start - timedelta(microseconds=1), now, actor=ctx.user)
        when = memory.local(start, tz)
        if not found:
            text = (f"📈 Nothing recorded for you {label} (since {when}). What you do through remedy — moves, "
                    "comments, deploys, go/no-go — shows up here.")
            ctx.show(text, [blocks.section(text)])
            return
        groups = memory.by_ticket(found)
        tickets = sum(1 for key, _ in groups if key)
        head = (f"📈 *Your progress {label}* (since {when}): {len(found)} action{'s' if len(found) != 1 else ''} "
                f"on {tickets} ticket{'s' if tickets != 1 else ''}")
        lines = [f"• *{key or 'Other'}* ({len(events)}): {memory.tally(events)}" for key, events in groups]
        ctx.show(head, blocks.packed_sections(lines, BLOCKS_MAX - 5, head))


# -- blocked --------------------------------------------------------------------------------------------


def blocked(origin: dict[str, Any], key: str | None = None, **_: Any) -> None:
    """`/remedy blocked`: what your open tickets wait on — a blocking ticket, a vendor, a lead's
    go/no-go — and what waits on them, oldest first, with how long each has waited."""
    with job_context(origin) as ctx:
        svc = ctx.services
        mine = [i for i in _mine(ctx, _account(ctx)) if not i.is_done]
        keys = [i.key for i in mine]
        cards = ticket_memory.pending_cards(svc.db, keys, ctx.user)
        involved = {*keys, *(ln.other_key for i in mine for ln in i.links), *(c.key for c in cards)}
        found = ticket_memory.waits(mine, cards, ticket_memory.link_times(svc.db, involved),
                                    ticket_memory.ring_labels(svc.db, sorted(involved)))
        if not found:
            ctx.done("Nothing you work on is waiting: no open blockers, vendor waits or go/no-go cards.")
            return
        now, tz = svc.clock(), _tz(ctx)
        lines = [_wait_line(w, now, tz) for w in found]
        head = f"*What waits on what* (oldest first): {len(found)} wait{'s' if len(found) != 1 else ''}"
        ctx.show(f"{len(found)} waits on your tickets", blocks.packed_sections(lines, BLOCKS_MAX - 5, head))


def _wait_line(wait: ticket_memory.Wait, now: datetime, tz: ZoneInfo) -> str:
    summary = f" {escape(wait.summary)}" if wait.summary else ""
    if wait.exact:
        how_long = f"{memory.span(now - wait.since)} (since {memory.local(wait.since, tz)})"
    else:
        how_long = (f"up to {memory.span(now - wait.since)} (no record of when it began: counted from the "
                    "ticket's creation)")
    return f"{wait.icon} *{wait.key}*{summary} waits on {wait.on} · {how_long}"
