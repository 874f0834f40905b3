"""`/remedy schedule discussion [KEY] <when> with <people…>`: a calendar invitation (.ics) in the
ticket's thread and in each attendee's DM, a Jira comment and an audit event — each once, however
often the job runs.

Order matters: everyone is resolved and the time checked (past, working hours, overlaps) before
anything is sent, so a refusal leaves no trace outside the ❌.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackApiError

from remedy.commands.model import PersonRef, When
from remedy.errors import UserError
from remedy.jira.models import Issue
from remedy.parallel import parallel
from remedy.slack import blocks
from remedy.slack.cards import browse_url
from remedy.slack.mrkdwn import escape
from remedy.slack.poster import SlackPostError
from remedy.slack.uploads import Staged, complete, stage
from remedy.team.calendar import Attendee, Invite, attendee, claim, dm_text, ics, invitees, names
from remedy.team.when import Local, Slot, require_working_hours, resolve
from workers.context import JobContext, audit, jira_comment, job_context, thread_reply


def schedule_discussion(origin: dict[str, Any], key: str, when: dict[str, Any], attendees: list[dict[str, Any]],
                        **_: Any) -> None:
    with job_context(origin) as ctx:
        svc = ctx.services
        organizer = _organizer(ctx)
        refs = [PersonRef.model_validate(a) for a in attendees]
        issue, people = parallel([lambda: svc.jira.get_issue(key),
                                  lambda: invitees(refs, svc.team, svc.slack)])
        people = [p for p in people if p.slack_id != organizer.slack_id]
        if not people:
            raise UserError("Invite someone besides yourself, e.g. `with sarah john.smith`.")
        slot = resolve(When.model_validate(when), organizer.tz, svc.clock())
        require_working_hours(slot, [Local(p.name, p.tz) for p in (organizer, *people)])
        invite = Invite(issue.key, issue.summary, browse_url(svc.settings.JIRA_URL, issue.key), slot, organizer,
                        tuple(people))
        invite = dataclasses.replace(invite, sequence=claim(svc.db, invite, ctx.user, ctx.job_id))
        content = ics(invite, svc.clock())
        sends: list[Callable[[], str | None]] = [
            lambda: _in_thread(ctx, issue, invite, content),
            lambda: jira_comment(ctx, issue.key, _comment(invite), ctx.key("comment")),
            *(functools.partial(_to_attendee, ctx, invite, p, content) for p in people)]
        missed = [m for m in parallel(sends)[2:] if m]
        audit(ctx, "team.schedule", issue.key, uid=invite.uid, start=slot.start.isoformat(),
              end=slot.end.isoformat(), tz=slot.tz, sequence=invite.sequence, when=str(when.get("raw", "")),
              attendees=[p.name for p in people], slack_ids=[p.slack_id for p in people], not_reached=missed)
        note = f" I couldn't DM {escape('; '.join(missed))}." if missed else ""
        ctx.done(f"📅 Discussion on *{issue.key}* set for *{escape(slot.label(slot.tz))}* with "
                 f"{escape(names(people))}: invitation in the thread and in their DMs, noted in Jira.{note}")


def _organizer(ctx: JobContext) -> Attendee:
    person = ctx.services.team.by_slack_id(ctx.user)
    if person is None:  # the role check lets only team.yml people this far; say what is missing anyway
        raise UserError("I don't know your timezone: ask a lead to add you to the team directory (team.yml).")
    return attendee(person)


def _comment(invite: Invite) -> str:
    """Plain text for Jira (made ADF by the client): the organizer's time with the year, and UTC."""
    slot = invite.slot
    start, end = slot.local(slot.tz)
    return (f"Discussion scheduled for {start:%a %d %b %Y %H:%M}–{end:%H:%M} {slot.tz} "
            f"({slot.start:%H:%M} UTC) by {invite.organizer.name} with {names(invite.attendees)}.")


def _in_thread(ctx: JobContext, issue: Issue, invite: Invite, content: bytes) -> str:
    slot = invite.slot
    local = " · ".join(f"{escape(p.name)} {_clock(slot, p.tz)}" for p in invite.attendees)
    line = (f"📅 *{escape(invite.organizer.name)}* scheduled a discussion of *{issue.key}* for "
            f"*{escape(slot.label(slot.tz))}* with {escape(names(invite.attendees))}")
    posted, staged = parallel([
        lambda: thread_reply(ctx, issue, line, [blocks.section(line), blocks.context(f"Local times: {local}")],
                             "schedule"),
        lambda: _prestage(ctx, invite, content, ctx.key("ics:thread"))])
    return _share(ctx, posted.channel, posted.thread_ts or posted.ts, invite, (staged, content),
                  ctx.key("ics:thread"))


def _clock(slot: Slot, tz: str) -> str:
    start, _ = slot.local(tz)
    return escape(f"{start:%a %H:%M} {tz}")


def _to_attendee(ctx: JobContext, invite: Invite, person: Attendee, content: bytes) -> str | None:
    """DM the invitation with the .ics; what went wrong for this one person, or None. One
    unreachable attendee must not stop the others' invitations."""
    if person.slack_id is None:
        return f"{person.name} (no Slack id in team.yml)"
    poster = ctx.services.poster
    try:
        text = dm_text(invite, person)
        slack_id = person.slack_id
        posted, staged = parallel([lambda: poster.dm(slack_id, text, [blocks.section(text)], ctx.key(f"dm:{slack_id}")),
                                   lambda: _prestage(ctx, invite, content, ctx.key(f"ics:{slack_id}"))])
        _share(ctx, posted.channel, None, invite, (staged, content), ctx.key(f"ics:{slack_id}"))
    except SlackPostError as exc:
        return f"{person.name} ({exc.error})"
    return None


def _prestage(ctx: JobContext, invite: Invite, content: bytes, key: str) -> Staged | None:
    """The .ics sent to Slack beside the message it goes under (staging needs only the file). Only on
    the first run: when an earlier run got as far as sharing it (done, or maybe done), None — the share
    then finds it, or stages it after all — so a rerun leaves no stray upload."""
    return None if ctx.services.actions.status(key) is not None else _stage(ctx, invite, content)


def _stage(ctx: JobContext, invite: Invite, content: bytes) -> Staged:
    svc = ctx.services
    return stage(svc.slack, invite.filename, content, f"Discussion {invite.key}", svc.settings.REMEDY_HTTP_TIMEOUT)


def _share(ctx: JobContext, channel: str, thread_ts: str | None, invite: Invite,
           file: tuple[Staged | None, bytes], key: str) -> str:
    """Share the staged .ics once per ``key``; returns the file id. Unlike a bare upload, the file's
    message carries a comment unique to this send (file name and SEQUENCE), so a run that died around
    the share finds it there instead of sharing a second copy."""
    comment = _file_comment(invite)
    svc = ctx.services

    def send() -> str:
        staged, content = file
        ready = staged or _stage(ctx, invite, content)
        return complete(svc.slack, ready, channel, thread_ts, comment)

    return svc.actions.run_once(key, "slack.upload", channel, send,
                                recover=lambda: _find_file(ctx, channel, thread_ts, comment)).external_id


def _file_comment(invite: Invite) -> str:
    again = f" (update {invite.sequence})" if invite.sequence else ""
    return f"📎 `{invite.filename}`{again}: open it to add the meeting to your calendar"


def _find_file(ctx: JobContext, channel: str, thread_ts: str | None, comment: str) -> str | None:
    slack = ctx.services.slack
    try:
        resp = (slack.conversations_replies(channel=channel, ts=thread_ts, limit=200) if thread_ts
                else slack.conversations_history(channel=channel, limit=100))
    except SlackApiError:
        return None
    messages: list[dict[str, Any]] = resp.get("messages", [])
    for msg in messages:
        files = msg.get("files") or []
        if files and msg.get("text") == comment:
            return str(files[0]["id"])
    return None
