"""When a digest (or a morning DM) is due: a local time of day in an IANA timezone, every day or on
weekdays only, computed with zoneinfo from one UTC "now".

Everything is decided on the *local* date: 09:00 Europe/Berlin is 08:00 UTC in winter and 07:00 UTC
in summer, and a run belongs to the local day it was meant for. Only today's run is ever due, so a
run that cron missed is caught up later the same local day (marked late) and never the next day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# cron looks every 5 minutes: a run posted within a quarter of an hour of its time is on time; later
# means cron (or the queue) was down at that time and this is the catch-up.
LATE_AFTER = timedelta(minutes=15)
_SATURDAY = 5


@dataclass(frozen=True)
class Plan:
    """A schedule as stored: "HH:MM" in ``timezone``; ``weekdays_only`` skips Saturday and Sunday."""

    local_time: str
    timezone: str
    weekdays_only: bool
    set_at: datetime | None = None  # a schedule set after today's time starts tomorrow

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def days(self) -> str:
        return "on weekdays" if self.weekdays_only else "every day"


@dataclass(frozen=True)
class Due:
    local_date: date
    scheduled_for: datetime  # UTC
    late: bool


def at(plan: Plan, day: date) -> datetime:
    """The instant (UTC) of ``plan``'s time on local ``day``. A time that does not exist that day (the
    hour skipped when clocks go forward) is read with the offset before the change, i.e. one hour later
    on the wall clock; a time that exists twice (clocks go back) is its first occurrence."""
    hour, minute = (int(part) for part in plan.local_time.split(":"))
    local = datetime.combine(day, time(hour, minute), tzinfo=plan.zone)
    return local.astimezone(UTC)


def runs_on(plan: Plan, day: date) -> bool:
    return not (plan.weekdays_only and day.weekday() >= _SATURDAY)


def due(plan: Plan, now: datetime) -> Due | None:
    """Today's run (local date) if its time has come, else None. Whether it already ran is the run
    table's business (the caller checks it)."""
    today = now.astimezone(plan.zone).date()
    if not runs_on(plan, today):
        return None
    scheduled = at(plan, today)
    if now < scheduled or (plan.set_at is not None and plan.set_at > scheduled):
        return None
    return Due(today, scheduled, late=now - scheduled > LATE_AFTER)


def next_run(plan: Plan, now: datetime) -> datetime:
    """The first run strictly after ``now`` (UTC)."""
    day = now.astimezone(plan.zone).date()
    for _ in range(8):  # a week holds at least one run day
        if runs_on(plan, day) and at(plan, day) > now:
            return at(plan, day)
        day += timedelta(days=1)
    raise AssertionError("no run within a week")  # pragma: no cover - weekdays exist every week


def when(plan: Plan, instant: datetime) -> str:
    """"Thu 26 Nov 09:00 Europe/Berlin (08:00 UTC)": the channel's clock first, UTC for the others."""
    local = instant.astimezone(plan.zone)
    shown = f"{local:%a} {local.day} {local:%b %H:%M} {plan.timezone}"
    if plan.timezone in ("UTC", "Etc/UTC"):
        return shown
    return f"{shown} ({instant.astimezone(UTC):%H:%M} UTC)"
