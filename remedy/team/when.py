"""A typed moment (`tomorrow 15:00`, `fri 10am`, `2026-11-27 14:00`, `in 2 hours`) → a meeting slot.

The command grammar only keeps the pieces (`remedy.commands.model.When`); what they mean depends on
who typed them and when, so this runs in the job with the requester's timezone (team.yml) and the
services' clock. Every refusal is a UserError that says whose time it is and what it reads there.

Rules, chosen to be predictable rather than clever:
- a weekday is its next occurrence from today on; today's weekday whose time has passed means next week;
- a time without a day is today; a day without a time is refused (guessing a time invites nobody);
- `in N hours|minutes` counts from now;
- the slot lasts ``DEFAULT_MINUTES``; a slot that starts now or earlier is refused;
- everyone's local slot must lie inside ``WORKDAY`` (07:00–20:00), or the refusal names who and when.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from remedy.commands.model import When
from remedy.errors import UserError
from remedy.slack.mrkdwn import escape

DEFAULT_MINUTES = 30
WORKDAY = (dt.time(7, 0), dt.time(20, 0))
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RELATIVE = re.compile(r"in\s+(\d{1,3})\s*(h|hr|hrs|hour|hours|m|min|mins|minute|minutes)", re.IGNORECASE)
# Further ahead than this is more likely a typo (2062 for 2026) than a plan.
MAX_AHEAD = dt.timedelta(days=366)


@dataclass(frozen=True)
class Slot:
    """A meeting in UTC, and the timezone it was asked in (the organizer's)."""

    start: dt.datetime
    end: dt.datetime
    tz: str

    def local(self, tz: str) -> tuple[dt.datetime, dt.datetime]:
        zone = ZoneInfo(tz)
        return self.start.astimezone(zone), self.end.astimezone(zone)

    def label(self, tz: str) -> str:
        """'Thu 26 Nov 09:00–09:30 America/New_York' (the end's date only when it differs)."""
        start, end = self.local(tz)
        until = end.strftime("%H:%M") if end.date() == start.date() else end.strftime("%a %d %b %H:%M")
        return f"{start:%a %d %b %H:%M}–{until} {tz}"


@dataclass(frozen=True)
class Local:
    """Somebody whose working hours a slot must respect."""

    name: str
    tz: str


def resolve(when: When, tz: str, now: dt.datetime, minutes: int = DEFAULT_MINUTES) -> Slot:
    """The slot ``when`` means for someone in ``tz`` at ``now`` (aware); UserError if it can't be one."""
    zone = ZoneInfo(tz)
    start = _relative(when.raw, now) or _absolute(when, zone, now.astimezone(zone))
    if start <= now:
        raise UserError(f"That's in the past for you ({tz}): {escape(when.raw)} is "
                        f"{start.astimezone(zone):%a %d %b %H:%M} and it is {now.astimezone(zone):%a %d %b %H:%M} "
                        "there now. Pick a later time.")
    if start - now > MAX_AHEAD:
        raise UserError(f"{escape(when.raw)} is more than a year away; pick a date within the next 12 months.")
    utc = start.astimezone(dt.UTC)
    return Slot(utc, utc + dt.timedelta(minutes=minutes), tz)


def _relative(raw: str, now: dt.datetime) -> dt.datetime | None:
    found = _RELATIVE.fullmatch(raw.strip())
    if found is None:
        return None
    amount, unit = int(found.group(1)), found.group(2).lower()
    delta = dt.timedelta(hours=amount) if unit.startswith("h") else dt.timedelta(minutes=amount)
    return (now + delta).replace(second=0, microsecond=0)


def _absolute(when: When, zone: ZoneInfo, today: dt.datetime) -> dt.datetime:
    if when.time is None:
        day = f"{escape(when.raw)} " if when.raw else ""
        raise UserError(f"At what time? Add one, e.g. `{day}15:00` or `{day}10am`.")
    clock = dt.time.fromisoformat(when.time)
    date = _day(when, today.date(), clock, today.time())
    wall = dt.datetime.combine(date, clock, tzinfo=zone)
    # A wall time skipped by a clock change (02:30 on the spring-forward night) does not exist there:
    # zoneinfo would silently shift it, so say so instead.
    if wall.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None) != wall.replace(tzinfo=None):
        raise UserError(f"{clock:%H:%M} does not exist on {date:%a %d %b} in {zone.key}: the clocks go forward "
                        "then. Pick another time.")
    return wall


def _day(when: When, today: dt.date, clock: dt.time, now: dt.time) -> dt.date:
    if when.date is not None:
        return when.date
    if when.day in (None, "today"):
        return today
    if when.day == "tomorrow":
        return today + dt.timedelta(days=1)
    if when.day == "yesterday":
        return today - dt.timedelta(days=1)
    ahead = (WEEKDAYS.index(when.day) - today.weekday()) % 7
    if ahead == 0 and clock <= now:
        ahead = 7  # "fri 10am" typed on Friday at noon means next Friday
    return today + dt.timedelta(days=ahead)


def outside_hours(slot: Slot, people: Sequence[Local]) -> list[str]:
    """'John Doe: 03:00 on Thu 26 Nov (America/Chicago)' for everyone whose local slot leaves WORKDAY."""
    found: list[str] = []
    for person in people:
        start, end = slot.local(person.tz)
        opens = start.replace(hour=WORKDAY[0].hour, minute=WORKDAY[0].minute)
        closes = start.replace(hour=WORKDAY[1].hour, minute=WORKDAY[1].minute)
        if start < opens or end > closes:
            found.append(f"{person.name}: {start:%H:%M} on {start:%a %d %b} ({person.tz})")
    return found


def require_working_hours(slot: Slot, people: Sequence[Local]) -> None:
    late = outside_hours(slot, people)
    if late:
        span = f"{WORKDAY[0]:%H:%M}–{WORKDAY[1]:%H:%M}"
        raise UserError(f"That is outside working hours ({span} local) for " + "; ".join(late)
                        + ". Pick a time that suits everyone.")
