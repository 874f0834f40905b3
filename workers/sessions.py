"""Work sessions: `start session 2h`, `status`, `next`, `complete session`, and the expiry sweep.

The plan lives in the database, so a restart keeps it; the checklist is a DM edited in place. Items
are checked off from the audit trail whenever a session command runs, so no other job needs to know
about sessions. Stakeholder updates are posted only on "Post all", each exactly once.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from typing import Any

from remedy.commands import PersonRef, Role
from remedy.errors import UserError
from remedy.remediation import decisions
from remedy.sessions import evidence, inputs, plan, store
from remedy.sessions import updates as stakeholder
from remedy.sessions.plan import Item
from remedy.sessions.store import SessionView
from remedy.sessions.updates import Update
from remedy.slack import blocks, rollout_card, session_card
from remedy.slack.blocks import Block
from remedy.slack.mrkdwn import escape
from remedy.team.resolve import resolve_jira_user
from workers.context import JobContext, actor_name, audit, jira_comment, job_context, require_role, thread_reply

# The `blocked` job's Slack-id → email lookup, shared rather than copied (as workers.priorities does).
from workers.jira_actions import slack_email

log = logging.getLogger("remedy.sessions")
# A session nobody completed is closed this long after its time box ends: enough to finish the
# action in hand, short enough that tomorrow's `start session` isn't refused by yesterday's.
GRACE = timedelta(minutes=30)


def start_session(origin: dict[str, Any], minutes: int, **_: Any) -> None:
    """`/remedy start session 2h`: plan, open (one per user), DM the checklist, show it."""
    with job_context(origin) as ctx:
        require_role(ctx, Role.ENGINEER, "Starting a work session", "session")
        existing = _live(ctx)
        if existing is not None and existing.plan.get("job") != ctx.job_id:  # a retry of this job goes on
            raise UserError(_already_open(ctx, existing))
        view = existing or _open(ctx, int(minutes))
        text, blks = _checklist(ctx, view)
        _card(ctx, view, text, blks)
        ctx.show(text, [*blks, blocks.context("This checklist is also in your DM and updates as you go; "
                                              "`next` shows the first action.")])


def status(origin: dict[str, Any], **_: Any) -> None:
    """`/remedy status`: progress against the plan and time left (the DM checklist is refreshed too)."""
    with job_context(origin) as ctx:
        view = _live(ctx)
        if view is None:
            ctx.show(session_card.NO_SESSION, [blocks.section(session_card.NO_SESSION)])
            return
        view = _refresh(ctx, view)
        text, blks = _checklist(ctx, view)
        _card(ctx, view, text, blks)
        ctx.show(text, blks)


def next_action(origin: dict[str, Any], **_: Any) -> None:
    """`/remedy next`: the first open action of the plan, with a button that runs it."""
    with job_context(origin) as ctx:
        view = _live(ctx)
        if view is None:
            ctx.show(session_card.NO_SESSION, [blocks.section(session_card.NO_SESSION)])
            return
        view = _refresh(ctx, view)
        _card(ctx, view, *_checklist(ctx, view))
        items = view.items
        position = next((n for n, item in enumerate(items, 1) if not item.done), None)
        if position is None:
            line = (f"🎉 All {len(items)} planned actions are done. `complete session` wraps up and drafts "
                    "the stakeholder updates." if items else
                    "Your plan is empty. `complete session` closes the session.")
            ctx.show(line, [blocks.section(line)])
            return
        ctx.show(*_next(ctx, view, items[position - 1], position, len(items)))


def complete_session(origin: dict[str, Any], **_: Any) -> None:
    """`/remedy complete session`: close it with a summary and show the stakeholder updates for
    confirmation. Its "Post all" / "Cancel" buttons run this job again with ``post:ID`` / ``cancel:ID``."""
    with job_context(origin) as ctx:
        require_role(ctx, Role.ENGINEER, "Completing a work session", "session")
        choice, _sep, number = str(ctx.origin.extra.get("ref") or "").partition(":")
        if choice in ("post", "cancel") and number.isdigit():
            _choose(ctx, int(number), choice)
            return
        view = _closing(ctx)
        if view is None:
            ctx.show(session_card.NO_SESSION, [blocks.section(session_card.NO_SESSION)])
            return
        if view.status == "open":
            view = _close(ctx, view, "completed")
        if view.status == "expired":  # the expiry sweep closed it a moment before: its summary stands
            ctx.show(*session_card.closed(view.items, view.summary or "", view.status))
            return
        updates = [Update.from_json(u) for u in view.plan.get("updates", [])]
        title, blks = session_card.confirm(view.id, view.summary or "", updates)
        _card(ctx, view, title, blks)
        ctx.show(title, blks)


def expire_sessions(origin: dict[str, Any], slot: str = "", late: bool = False, **_: Any) -> int:
    """Cron: close sessions left open past their time box (+ GRACE) and DM each user a summary.
    Closing is a conditional update, so a sweep that runs twice (or races `complete`) closes once."""
    with job_context(origin) as ctx:
        now, expired = ctx.services.clock(), 0
        for view in store.open_sessions(ctx.services.db):
            if now < view.ends_at + GRACE:
                continue
            try:
                expired += _expire(ctx, view)
            except Exception:  # one user's Slack trouble must not keep the others' sessions open
                log.exception("could not expire session %s", view.id)
        return expired
    return 0


# -- opening ---------------------------------------------------------------------------------------

def _open(ctx: JobContext, minutes: int) -> SessionView:
    svc = ctx.services
    role = Role.from_name(svc.team.role_of(ctx.user))
    me = PersonRef(raw=f"<@{ctx.user}>", kind="mention", slack_id=ctx.user)
    who = resolve_jira_user(me, svc.team, svc.jira, slack_email(ctx))
    planned = plan.build(inputs.tickets(svc, who.account_id), inputs.approvals(svc, role), minutes,
                         plan.namer_for(role, lambda name, default: Role.from_name(
                             svc.team.command_role(name, default.name.lower()))))
    now = svc.clock()
    body = {"items": [i.to_json() for i in planned.items], "skipped": [i.to_json() for i in planned.skipped],
            "audit_from": store.last_seq(svc.db), "job": ctx.job_id, "minutes": minutes}
    view, created = store.open_session(svc.db, ctx.user, now, now + timedelta(minutes=minutes), body)
    if not created and view.plan.get("job") != ctx.job_id:
        raise UserError(_already_open(ctx, view))
    audit(ctx, "session.start", f"session-{view.id}", minutes=minutes, items=len(planned.items),
          skipped=len(planned.skipped))
    return view


def _already_open(ctx: JobContext, view: SessionView) -> str:
    left = session_card.time_left(view.ends_at, ctx.services.clock())
    return (f"You already have a work session open (started {view.started_at:%H:%M} UTC, {left}). "
            "`status` shows it; `complete session` ends it before you start another.")


def _live(ctx: JobContext) -> SessionView | None:
    """The user's open session; one past its time box and GRACE is expired on sight."""
    view = store.current(ctx.services.db, ctx.user)
    if view is not None and ctx.services.clock() >= view.ends_at + GRACE:
        _expire(ctx, view)
        return None
    return view


# -- progress --------------------------------------------------------------------------------------

def _decided(ctx: JobContext, decision_id: int) -> bool:
    found = decisions.get(ctx.services.db, decision_id)
    return found is None or found.status != "pending"


def _refresh(ctx: JobContext, view: SessionView) -> SessionView:
    """Check off what the audit trail shows done since the session started."""
    events = store.events_since(ctx.services.db, int(view.plan.get("audit_from", 0)), view.user)
    items = evidence.check_off(view.items, events, lambda d: _decided(ctx, d))
    if items == view.items:
        return view
    body = {**view.plan, "items": [i.to_json() for i in items]}
    store.save_items(ctx.services.db, view.id, body)
    return replace(view, plan=body)


def _checklist(ctx: JobContext, view: SessionView) -> tuple[str, list[Block]]:
    return session_card.checklist(view.items, view.skipped, view.started_at, view.ends_at, ctx.services.clock())


def _card(ctx: JobContext, view: SessionView, text: str, blks: list[Block]) -> None:
    """Post the checklist DM once, then edit it. It is a view of the database: failing to show it
    must not fail the command (the ephemeral answer carries the same blocks)."""
    svc = ctx.services
    try:
        if view.channel_id and view.message_ts:
            svc.poster.update(view.channel_id, view.message_ts, text, blks)
            return
        posted = svc.poster.dm(view.user, text, blks, f"session:{view.id}:card")
        store.set_message(svc.db, view.id, posted.channel, posted.ts)
    except Exception:
        log.warning("could not show the checklist of session %s", view.id, exc_info=True)


def _next(ctx: JobContext, view: SessionView, item: Item, position: int, total: int) -> tuple[str, list[Block]]:
    now = ctx.services.clock()
    if item.kind != "decision" or item.decision is None:
        return session_card.next_card(item, position, total, view.ends_at, now)
    found = decisions.get(ctx.services.db, item.decision)
    assert found is not None  # _refresh checked it off otherwise
    _, card = rollout_card.card(found.id, found.numbers, found.requested_by, found.created_at)
    line = session_card.next_line(item, position, total, view.ends_at, now)
    return f"Next: {item.label}", [blocks.section(line), *card]


# -- closing ---------------------------------------------------------------------------------------

def _closing(ctx: JobContext) -> SessionView | None:
    """The open session, or the one this very job closed before it was interrupted (a retry)."""
    latest = store.latest(ctx.services.db, ctx.user)
    if latest is None or (latest.status != "open" and latest.plan.get("closed_by") != ctx.job_id):
        return None
    return latest


def _thread_channel(ctx: JobContext) -> str:
    """Where the ticket threads are: the channel the command came from, the team channel from a DM."""
    channel = ctx.origin.channel_id
    if channel and not channel.startswith("D"):
        return channel
    return ctx.services.settings.REMEDY_HOME_CHANNEL or ctx.channel


def _close(ctx: JobContext, view: SessionView, status: str) -> SessionView:
    """Check off, sum up, draft the updates (on completion), close. The loser of a race with the
    other closing path gets the session as the winner left it."""
    svc = ctx.services
    view = _refresh(ctx, view)
    changed = evidence.changes(store.events_since(svc.db, int(view.plan.get("audit_from", 0)), view.user))
    now = svc.clock()
    summary = stakeholder.summary(view.items, changed, session_card.minutes_between(view.started_at, now))
    body = {**view.plan, "closed_by": ctx.job_id}
    if status == "completed":
        drafted = stakeholder.draft_all(svc.llm, view.items, changed, actor_name(ctx))
        body |= {"updates": [u.to_json() for u in drafted], "thread_channel": _thread_channel(ctx)}
    won = store.close(svc.db, view.id, status, now, summary, body)
    if won and status == "completed":
        audit(ctx, "session.complete", f"session-{view.id}", touched=sorted(changed))
    found = store.get(svc.db, view.id)
    assert found is not None
    return found


def _expire(ctx: JobContext, view: SessionView) -> bool:
    closed = _close(ctx, view, "expired")
    if closed.plan.get("closed_by") != ctx.job_id or closed.status != "expired":
        return False
    summary = closed.summary or ""
    _card(ctx, closed, *session_card.closed(closed.items, summary, "expired"))
    line = (f"⌛ Your work session ended at {closed.ends_at:%H:%M} UTC and nobody completed it, so I closed it.\n"
            f"{escape(summary)}\nStart a new one with `start session 2h`.")
    ctx.services.poster.dm(view.user, line, [blocks.section(line)], f"session:{view.id}:expired")
    return True


def _choose(ctx: JobContext, session_id: int, choice: str) -> None:
    """Post all / Cancel: the first choice made for a session stands (a unique action key)."""
    svc = ctx.services
    view = store.get(svc.db, session_id)
    if view is None or view.user != ctx.user or view.status == "open" or not view.plan.get("updates"):
        raise UserError("That button does not match a completed session of yours; run `complete session`.")
    chosen = svc.actions.run_once(f"session:{session_id}:updates", "session.updates", f"session-{session_id}",
                                  do=lambda: choice).external_id
    if chosen != choice:
        raise UserError("These updates were already posted." if chosen == "post" else
                        "You cancelled these updates; nothing was posted.")
    if choice == "cancel":
        _card(ctx, view, *session_card.closed(view.items, view.summary or "", view.status,
                                              "Stakeholder updates cancelled: nothing was posted."))
        ctx.done("Cancelled: no stakeholder updates were posted.")
        return
    _post_updates(ctx, view)


def _post_updates(ctx: JobContext, view: SessionView) -> None:
    """A Jira comment and a thread post per ticket, each keyed by session and ticket, so a double
    click or a job retry posts each once. Two presses at once take turns on a lock, and the second
    finds every post done."""
    svc = ctx.services
    updates = [Update.from_json(u) for u in view.plan.get("updates", [])]
    here = JobContext(svc, replace(ctx.origin, channel_id=str(view.plan.get("thread_channel") or ctx.channel)),
                      ctx.job_id)
    who = actor_name(ctx)
    with svc.redis.lock(f"remedy:session:{view.id}:post", timeout=300, blocking_timeout=120):
        for u in updates:
            once = f"session:{view.id}:{u.key}"
            comment_id = jira_comment(ctx, u.key, f"{u.comment}\n\n— {who}, via remedy", f"{once}:comment")
            thread_reply(here, u.key, escape(u.thread), [blocks.section(escape(u.thread))], "session-update",
                         once_key=f"{once}:thread")
            audit(ctx, "session.update", u.key, once_key=f"{once}:audit", session=view.id, comment_id=comment_id)
    keys = ", ".join(u.key for u in updates)
    _card(ctx, view, *session_card.closed(view.items, view.summary or "", view.status,
                                          f"Stakeholder updates posted on {keys}."))
    ctx.done(f"Posted {len(updates)} Jira comment{'s' if len(updates) != 1 else ''} and thread "
             f"update{'s' if len(updates) != 1 else ''}: {escape(keys)}.")
