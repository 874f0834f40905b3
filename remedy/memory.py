"""What remedy remembers about each user between commands and restarts (DB): the focus ticket, when
they were last seen, the tickets they touched, their open drafts — and, read from the audit trail,
what they and others did.

"Seen" is written by the job layer (``workers.context``) after each command, never by the bot: the
ack must stay fast. Times are the services' clock (the sandbox moves it), always UTC here; only
the wording turns them into the user's timezone.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from remedy.audit.phrases import doing
from remedy.db.models import AuditEvent, Draft, RecentTicket, UserState
from remedy.db.session import Database
from remedy.remediation.store import aware
from remedy.slack.mrkdwn import escape, truncate

TICKET = re.compile(r"[A-Z][A-Z0-9_]+-\d+")
RECENT_DAYS = 14  # a ticket touched longer ago than this is no longer "yours" for resume/blocked
RECENT_MAX = 20
# Going back from the last command, a pause this long ends the working session `resume` recalls.
SESSION_GAP = timedelta(hours=3)
SESSION_MAX = timedelta(hours=24)
# Audit rows that record a refusal or bookkeeping, not something a person got done.
# Not work done on a ticket: refusals, retries, notifications, and looking (reads are audited, not news).
NOT_WORK = frozenset({"auth.refused", "command.refused", "rollout.refused", "rollout.stale", "job.retry",
                      "notify.stakeholders", "read.compliance", "read.exceptions", "read.rollback_status",
                      "read.compliance_gaps"})


@dataclass(frozen=True)
class Change:
    """Something that happened to one of the user's tickets while they were away (mrkdwn text)."""

    key: str
    at: datetime
    text: str


@dataclass(frozen=True)
class Event:
    seq: int
    ts: datetime
    actor: str
    action: str
    target: str | None
    data: dict[str, Any]


@dataclass(frozen=True)
class OpenDraft:
    id: int
    key: str
    text: str


# -- focus and "seen" ------------------------------------------------------------------------------


def get_focus(db: Database, slack_user_id: str) -> str | None:
    with db.session() as s:
        return s.scalar(select(UserState.focus_key).where(UserState.slack_user_id == slack_user_id))


def set_focus(db: Database, slack_user_id: str, key: str) -> None:
    # last_seen_at is not touched: the job layer stamps it on the services' clock after the command.
    with db.session() as s:
        row = s.get(UserState, slack_user_id)
        if row is None:
            s.add(UserState(slack_user_id=slack_user_id, focus_key=key))
        else:
            row.focus_key = key


def last_seen(db: Database, slack_user_id: str) -> datetime | None:
    with db.session() as s:
        return aware(s.scalar(select(UserState.last_seen_at).where(UserState.slack_user_id == slack_user_id)))


def mark_seen(db: Database, slack_user_id: str, key: str | None, now: datetime) -> None:
    """The user was here at ``now`` (and touched ``key``). Two jobs of one user may finish together:
    the loser of an insert race finds the winner's row on the second try."""
    key = key.upper() if key and TICKET.fullmatch(key.upper()) else None
    for attempt in range(2):
        try:
            with db.session() as s:
                _seen_row(s, slack_user_id, now)
                if key is not None:
                    _touch(s, slack_user_id, key, now)
            return
        except IntegrityError:
            if attempt:
                raise


def _seen_row(s: Session, user: str, now: datetime) -> None:
    row = s.get(UserState, user)
    if row is None:
        s.add(UserState(slack_user_id=user, last_seen_at=now))
        s.flush()
    else:
        before = aware(row.last_seen_at)
        if before is None or before < now:  # jobs may finish out of order: never move it back
            row.last_seen_at = now


def _touch(s: Session, user: str, key: str, now: datetime) -> None:
    done = s.execute(update(RecentTicket).where(RecentTicket.slack_user_id == user, RecentTicket.ticket_key == key)
                     .values(touched_at=now))
    if not done.rowcount:  # type: ignore[attr-defined]
        s.add(RecentTicket(slack_user_id=user, ticket_key=key, touched_at=now))
        s.flush()


def recent_keys(db: Database, slack_user_id: str, now: datetime) -> list[str]:
    """Tickets the user touched lately, most recent first."""
    with db.session() as s:
        return list(s.scalars(select(RecentTicket.ticket_key).where(
            RecentTicket.slack_user_id == slack_user_id, RecentTicket.touched_at >= now - timedelta(days=RECENT_DAYS))
            .order_by(RecentTicket.touched_at.desc()).limit(RECENT_MAX)))


def open_drafts(db: Database, slack_user_id: str) -> list[OpenDraft]:
    with db.session() as s:
        rows = s.scalars(select(Draft).where(Draft.slack_user_id == slack_user_id, Draft.status == "draft")
                         .order_by(Draft.id))
        return [OpenDraft(r.id, r.ticket_key, r.text) for r in rows]


# -- the audit trail, read back ----------------------------------------------------------------------


def events(db: Database, since: datetime, until: datetime | None = None, *, actor: str | None = None,
           other_than: str | None = None, targets: list[str] | None = None) -> list[Event]:
    """Audit events in ``(since, until]``, oldest first, minus refusals and bookkeeping."""
    query = select(AuditEvent).where(AuditEvent.ts > since).order_by(AuditEvent.seq)
    if until is not None:
        query = query.where(AuditEvent.ts <= until)
    if actor is not None:
        query = query.where(AuditEvent.actor == actor)
    if other_than is not None:
        query = query.where(AuditEvent.actor != other_than)
    if targets is not None:
        query = query.where(AuditEvent.target.in_(targets))
    with db.session() as s:
        rows = s.scalars(query.where(AuditEvent.action.not_in(NOT_WORK)))
        return [Event(r.seq, aware(r.ts) or r.ts, r.actor, r.action, r.target, dict(r.data or {})) for r in rows]


def last_session(db: Database, slack_user_id: str, until: datetime) -> list[Event]:
    """What the user did in their last working session: their latest events up to ``until``, going
    back while the pauses between them are shorter than SESSION_GAP (at most SESSION_MAX back). The
    last command may have been a read (`analyze`) long after the last write: the session is the
    last cluster of writes, wherever it lies."""
    found = events(db, until - SESSION_MAX, until, actor=slack_user_id)
    start = len(found) - 1
    while start > 0 and found[start].ts - found[start - 1].ts < SESSION_GAP:
        start -= 1
    return found[max(start, 0):]


def by_ticket(found: list[Event]) -> list[tuple[str | None, list[Event]]]:
    """Events grouped per ticket (None: not about a ticket), tickets in order of first appearance."""
    groups: dict[str | None, list[Event]] = {}
    for event in found:
        key = event.target if event.target and TICKET.fullmatch(event.target) else None
        groups.setdefault(key, []).append(event)
    return list(groups.items())


def tally(found: list[Event]) -> str:
    """'commented in Jira ×2, moved it Pilot → Plan' — repeats counted, first-done first."""
    counts = Counter(doing(e) for e in found)
    return ", ".join(f"{what} ×{n}" if n > 1 else what for what, n in counts.items())


def others_changes(found: list[Event], name_of: Callable[[str], str], said: dict[str, str]) -> list[Change]:
    """Changes other people (or remedy's webhooks) made: one line per audit event; a comment quotes its
    first paragraph when ``said`` (comment id → text, from Jira) has it."""
    changes = []
    for e in found:
        if not e.target:
            continue
        text = said.get(str(e.data.get("comment_id"))) if e.action == "jira.comment" else None
        first_paragraph = text.split("\n\n")[0] if text else ""  # not remedy's "— name, via remedy" line
        quote = f": “{first_line(first_paragraph)}”" if first_paragraph else ""
        changes.append(Change(e.target, e.ts, f"{escape(name_of(e.actor))} {doing(e)}{quote}"))
    return changes


# -- time, as the user reads it ----------------------------------------------------------------------


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def period_start(now: datetime, tz: ZoneInfo, period: str) -> datetime:
    """Midnight today — or Monday's midnight for "week" — where the user is, in UTC."""
    day = now.astimezone(tz).date()
    if period == "week":
        day -= timedelta(days=day.weekday())
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)  # zoneinfo handles DST


def local(moment: datetime, tz: ZoneInfo) -> str:
    """'Wed 25 Nov 10:00 CET'"""
    return moment.astimezone(tz).strftime("%a %d %b %H:%M %Z").strip()


def ago(delta: timedelta) -> str:
    """'14 hours ago', '3 days ago', 'just now'."""
    minutes = int(delta.total_seconds() // 60)
    if minutes >= 2 * 24 * 60:
        n, unit = minutes // (24 * 60), "day"
    elif minutes >= 60:
        n, unit = minutes // 60, "hour"
    elif minutes >= 1:
        n, unit = minutes, "minute"
    else:
        return "just now"
    return f"{n} {unit}{'s' if n != 1 else ''} ago"


def span(delta: timedelta) -> str:
    """'2d 18h', '5h 10m', '12m' — how long something has waited."""
    minutes = max(0, int(delta.total_seconds() // 60))
    days, hours, mins = minutes // (24 * 60), minutes // 60 % 24, minutes % 60
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    return f"{hours}h {mins}m" if hours else f"{mins}m"


def first_line(text: str, limit: int = 120) -> str:
    return escape(truncate(" ".join(text.split()), limit))
