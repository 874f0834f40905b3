"""A discussion about a ticket: the calendar invitation (.ics, RFC 5545 via icalendar) and the record
that keeps two discussions on one ticket from overlapping.

The .ics holds one VEVENT. Its UID is stable per (ticket, start), so sending it again for the same
meeting updates the event in people's calendars instead of adding a twin; SEQUENCE counts the sends.
DTSTART/DTEND carry the organizer's TZID with its VTIMEZONE, so every calendar shows the right
instant in its own zone, and the ticket link is in URL and DESCRIPTION.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone, vCalAddress
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from remedy.commands.model import PersonRef
from remedy.db.models import Discussion
from remedy.db.session import Database
from remedy.errors import UserError
from remedy.slack.mrkdwn import escape
from remedy.team.directory import Directory, Person
from remedy.team.when import Slot

PRODID = "-//remedy//schedule discussion//EN"


@dataclass(frozen=True)
class Attendee:
    """Somebody invited: where to DM them, their calendar address, and their timezone."""

    name: str
    tz: str
    slack_id: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Invite:
    key: str
    title: str  # the ticket's summary
    url: str | None  # the ticket in Jira
    slot: Slot
    organizer: Attendee
    attendees: tuple[Attendee, ...]
    sequence: int = 0

    @property
    def uid(self) -> str:
        return event_uid(self.key, self.slot.start)

    @property
    def filename(self) -> str:
        return f"{self.key}-discussion-{self.slot.start:%Y%m%dT%H%MZ}.ics"


def event_uid(key: str, start: dt.datetime) -> str:
    """Same ticket and start → same UID, whoever schedules it and however often."""
    return f"{key.lower()}-{start.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}@remedy"


def description(invite: Invite) -> str:
    link = f"\n{invite.url}" if invite.url else ""
    return (f"Discussion of {invite.key}: {invite.title}{link}\n"
            f"Scheduled by {invite.organizer.name} via remedy.")


def ics(invite: Invite, stamp: dt.datetime) -> bytes:
    """The invitation as an .ics file (METHOD:REQUEST when the organizer has an address)."""
    zone = ZoneInfo(invite.slot.tz)
    event = Event()
    event.add("uid", invite.uid)
    event.add("dtstamp", stamp.astimezone(dt.UTC))
    event.add("sequence", invite.sequence)
    event.add("dtstart", invite.slot.start.astimezone(zone))
    event.add("dtend", invite.slot.end.astimezone(zone))
    event.add("summary", f"{invite.key}: {invite.title}")
    event.add("description", description(invite))
    if invite.url:
        event.add("url", invite.url)
    # RFC 5546: a REQUEST names its organizer; without an address the file can only be PUBLISHed,
    # and a PUBLISH lists no attendees.
    method = "REQUEST" if invite.organizer.email else "PUBLISH"
    if method == "REQUEST":
        event.add("organizer", _address(invite.organizer))
        for person in (p for p in invite.attendees if p.email):
            event.add("attendee", _address(person), parameters={
                "role": "REQ-PARTICIPANT", "partstat": "NEEDS-ACTION", "rsvp": "TRUE"})
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("method", method)
    # The VTIMEZONE goes before the event that names it (some clients read in one pass), and covers only
    # the years around the meeting: one for 1970–2038 is slow to build and mostly noise.
    year = invite.slot.start.year
    cal.add_component(Timezone.from_tzid(invite.slot.tz, first_date=dt.date(year - 1, 1, 1),
                                         last_date=dt.date(year + 2, 1, 1)))
    cal.add_component(event)
    body: bytes = cal.to_ical()
    return body


def _address(person: Attendee) -> vCalAddress:
    address = vCalAddress(f"mailto:{person.email}")
    address.params["cn"] = person.name
    return address


def dm_text(invite: Invite, person: Attendee) -> str:
    """The invitation as ``person`` reads it: the time in their own timezone first (mrkdwn)."""
    link = f"<{invite.url}|{invite.key}>" if invite.url else invite.key
    theirs = invite.slot.label(person.tz)
    organizers = "" if person.tz == invite.slot.tz else (
        f" ({escape(invite.slot.label(invite.slot.tz))} for {escape(invite.organizer.name)})")
    others = [p.name for p in invite.attendees if p != person]
    also = f" with {escape(', '.join(others))}" if others else ""
    return (f"📅 *{escape(invite.organizer.name)}* invites you to discuss *{link}* {escape(invite.title)}{also}\n"
            f"*{escape(theirs)}*{organizers}\n"
            f"The invitation (`{invite.filename}`) is below: open it to add the meeting to your calendar.")


def claim(db: Database, invite: Invite, organizer_id: str, job_id: str) -> int:
    """Record ``invite`` for ``job_id`` (once) and return the SEQUENCE to send; UserError when it
    overlaps another discussion remedy scheduled on the same ticket. The same ticket and start is
    the same meeting sent again (an update), not a clash."""
    try:
        with db.session() as s:
            mine = s.scalar(select(Discussion).where(Discussion.job_id == job_id))
            if mine is not None:  # a retried job: its own row, decided already
                return mine.sequence
            slot = invite.slot
            clash = s.scalar(select(Discussion).where(
                Discussion.ticket_key == invite.key, Discussion.uid != invite.uid,
                Discussion.starts_at < slot.end, Discussion.ends_at > slot.start).order_by(Discussion.starts_at))
            if clash is not None:
                raise _clash(invite, clash)
            sent = s.scalar(select(func.count(Discussion.id)).where(Discussion.uid == invite.uid)) or 0
            s.add(Discussion(ticket_key=invite.key, uid=invite.uid, starts_at=slot.start, ends_at=slot.end,
                             sequence=sent, organizer=organizer_id, job_id=job_id,
                             people=", ".join(p.name for p in invite.attendees)))
            return sent
    except IntegrityError:  # another run of the same job claimed it a moment ago
        with db.session() as s:
            return int(s.scalar(select(Discussion.sequence).where(Discussion.job_id == job_id)) or 0)


def _clash(invite: Invite, other: Discussion) -> UserError:
    start = other.starts_at.replace(tzinfo=other.starts_at.tzinfo or dt.UTC)
    end = other.ends_at.replace(tzinfo=other.ends_at.tzinfo or dt.UTC)
    when = Slot(start, end, invite.slot.tz).label(invite.slot.tz)
    return UserError(f"{invite.key} already has a discussion then: {escape(when)} with {escape(other.people)}. "
                     "Pick a time that doesn't overlap it.")


def names(people: Sequence[Attendee]) -> str:
    return ", ".join(p.name for p in people)


def attendee(person: Person) -> Attendee:
    return Attendee(person.name, person.timezone, person.slack_id, person.email)


def invitees(refs: Sequence[PersonRef], team: Directory, slack: WebClient) -> list[Attendee]:
    """Everyone named, each once and in order; a group stands for its members. All are found before
    anything is sent: an unknown or ambiguous name is a question back. People outside team.yml are
    found through Slack (a mention or an email), which knows their timezone."""
    found: dict[str, Attendee] = {}
    for ref in refs:
        for person in _lookup(ref, team, slack):
            found.setdefault(person.slack_id or person.email or person.name, person)
    return list(found.values())


def _lookup(ref: PersonRef, team: Directory, slack: WebClient) -> list[Attendee]:
    label = escape(ref.display())
    if ref.kind == "mention" and ref.slack_id:
        known = team.by_slack_id(ref.slack_id)
        return [attendee(known)] if known else [_from_slack(slack, label, user=ref.slack_id)]
    if ref.kind == "group" or ref.kind == "channel":
        raise UserError(f"Name people for “{label}”: Slack user groups and channels can't be invited.")
    found = team.resolve(ref.raw)
    if found.person is not None:
        return [attendee(found.person)]
    if found.group is not None:
        return [attendee(p) for h in found.group.members if (p := team.by_handle(h)) is not None]
    if found.candidates:
        options = ", ".join(f"{escape(p.name)} ({escape(p.handle)})" for p in found.candidates[:5])
        raise UserError(f"Who did you mean by “{label}”: {options}? Use their handle or email.")
    if ref.kind == "email":
        return [_from_slack(slack, label, email=ref.raw.removeprefix("mailto:"))]
    raise UserError(f"I can't find “{label}” in the team directory; use their @mention or email.")


def _from_slack(slack: WebClient, label: str, user: str | None = None, email: str | None = None) -> Attendee:
    try:
        resp = slack.users_info(user=user) if user else slack.users_lookupByEmail(email=email or "")
    except SlackApiError as exc:
        if exc.response.get("error") in ("user_not_found", "users_not_found"):
            raise UserError(f"I can't find “{label}” in the team directory or in Slack.") from None
        raise
    found: dict[str, Any] = resp.get("user") or {}
    if found.get("deleted") or found.get("is_bot"):
        raise UserError(f"“{label}” can't be invited (a deactivated account or a bot).")
    email_found = (found.get("profile") or {}).get("email")
    return Attendee(str(found.get("real_name") or found.get("name") or label), str(found.get("tz") or "UTC"),
                    str(found["id"]), str(email_found) if email_found else None)
