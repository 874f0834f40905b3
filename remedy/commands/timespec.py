"""Times, days, durations and timezones as typed in commands.

Only the shape is checked here. Turning `mon 10:00` into an instant needs "now" and the user's
timezone, which the job has; keeping the raw words lets the job and the audit log show them.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import re
import zoneinfo

from remedy.commands.lexer import Token
from remedy.commands.model import When

DAYS: dict[str, str] = {
    "today": "today", "tonight": "today", "tomorrow": "tomorrow", "tmrw": "tomorrow", "tmr": "tomorrow",
    "yesterday": "yesterday",
    "mon": "mon", "monday": "mon", "tue": "tue", "tues": "tue", "tuesday": "tue",
    "wed": "wed", "wednesday": "wed", "thu": "thu", "thur": "thu", "thurs": "thu", "thursday": "thu",
    "fri": "fri", "friday": "fri", "sat": "sat", "saturday": "sat", "sun": "sun", "sunday": "sun",
}
_FILLERS = frozenset({"at", "on", "@"})
_CLOCK = re.compile(r"(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?|(\d{1,2})h(\d{2})")
_MERIDIEM = frozenset({"am", "pm", "a.m.", "p.m."})
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DURATION = re.compile(
    r"(?:(\d{1,2}(?:\.\d{1,2})?)\s*(?:h|hr|hrs|hour|hours))?\s*(?:(\d{1,4})\s*(?:m|min|mins|minute|minutes))?"
)
_TZ_SHAPE = re.compile(r"[A-Za-z][A-Za-z0-9_+-]{0,30}(?:/[A-Za-z0-9_+-]{1,30}){0,2}")
MAX_SESSION_MINUTES = 12 * 60


def clock(text: str) -> str | None:
    """`15:00`, `9:30`, `3pm`, `3:30 pm`, `9h30` → "HH:MM"; a bare `9` (or `2h`) is not a time."""
    found = _CLOCK.fullmatch(text.casefold().strip())
    if found is None:
        return None
    if found.group(4) is not None:
        hour, minute, meridiem = int(found.group(4)), int(found.group(5)), None
    else:
        if found.group(2) is None and found.group(3) is None:
            return None
        hour, minute, meridiem = int(found.group(1)), int(found.group(2) or 0), found.group(3)
    if meridiem is not None:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem.startswith("p") else 0)
    if hour > 23 or minute > 59:
        return None
    return f"{hour:02d}:{minute:02d}"


def iso_date(text: str) -> dt.date | None:
    if not _ISO_DATE.fullmatch(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def clock_at(tokens: list[Token], i: int) -> tuple[str, int] | None:
    """A time starting at token i, possibly split as `3 pm`; returns it and tokens used."""
    if i >= len(tokens) or tokens[i].kind != "word":
        return None
    if i + 1 < len(tokens) and tokens[i + 1].low in _MERIDIEM:
        joined = clock(tokens[i].low + tokens[i + 1].low)
        if joined:
            return joined, 2
    single = clock(tokens[i].low)
    return (single, 1) if single else None


_RELATIVE_UNITS = {"h", "hr", "hrs", "hour", "hours", "m", "min", "mins", "minute", "minutes"}


def _relative_at(tokens: list[Token], i: int) -> tuple[When, int] | None:
    """`in 2 hours`, `in 30 min`, `in 2h`: kept raw; the job counts from its own "now"."""
    if i + 1 >= len(tokens) or tokens[i].low != "in":
        return None
    amount = re.fullmatch(r"(\d{1,3})([a-z]*)", tokens[i + 1].low)
    if amount is None:
        return None
    if amount.group(2) in _RELATIVE_UNITS:
        return When(raw=f"in {amount.group(1)} {amount.group(2)}"), i + 2
    if not amount.group(2) and i + 2 < len(tokens) and tokens[i + 2].low in _RELATIVE_UNITS:
        return When(raw=f"in {amount.group(1)} {tokens[i + 2].low}"), i + 3
    return None


def read_when(tokens: list[Token], i: int) -> tuple[When, int] | None:
    """Day/date and/or time words starting at i (fillers `at`/`on` allowed between), or a relative
    `in 2 hours`; (When, next i)."""
    relative = _relative_at(tokens, i)
    if relative is not None:
        return relative
    day: str | None = None
    date: dt.date | None = None
    time: str | None = None
    used: list[str] = []
    j = i
    while j < len(tokens) and tokens[j].kind == "word":
        low = tokens[j].low
        step = 1
        if low in _FILLERS and j + 1 < len(tokens) and _is_when_word(tokens, j + 1):
            pass
        elif low in DAYS and day is None and date is None:
            day = DAYS[low]
        elif (parsed := iso_date(low)) is not None and day is None and date is None:
            date = parsed
        elif time is None and (found := clock_at(tokens, j)) is not None:
            time, step = found
        else:
            break
        used.extend(token.value for token in tokens[j : j + step])
        j += step
    if day is None and date is None and time is None:
        return None
    return When(raw=" ".join(used), day=day, date=date, time=time), j


def _is_when_word(tokens: list[Token], j: int) -> bool:
    low = tokens[j].low
    return low in DAYS or iso_date(low) is not None or clock_at(tokens, j) is not None


def duration_minutes(text: str) -> int | None:
    """`2h`, `90m`, `1h30m`, `1.5h`, `2 hours` → minutes; None when it is not a duration."""
    found = _DURATION.fullmatch(text.casefold().strip())
    if found is None or (found.group(1) is None and found.group(2) is None):
        return None
    minutes = round(float(found.group(1) or 0) * 60) + int(found.group(2) or 0)
    return minutes or None


def format_minutes(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return f"{hours}h{rest}m"
    return f"{hours}h" if hours else f"{rest}m"


@functools.lru_cache(maxsize=256)
def resolve_tz(name: str) -> str | None:
    """The canonical IANA key for `name` (case-insensitive), or None if zoneinfo does not know it."""
    if not _TZ_SHAPE.fullmatch(name):
        return None
    titled = "/".join(_title(part) for part in name.split("/"))
    for candidate in dict.fromkeys((titled, name, name.upper())):
        if _zone_exists(candidate):
            return candidate
    return None


def _title(part: str) -> str:
    # "new_york" → "New_York", "port-au-prince" keeps working through the as-typed fallback.
    return "_".join(word[:1].upper() + word[1:].lower() for word in part.split("_"))


def _zone_exists(key: str) -> bool:
    try:
        zoneinfo.ZoneInfo(key)
    except Exception:  # any failure (not found, bad key, a directory) means "no such zone"
        return False
    return True


@functools.cache
def _all_zones() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


def suggest_tz(name: str) -> str | None:
    """Closest known timezone key for a typo (`Europe/Berln` → Europe/Berlin); error path only."""
    if len(name) > 60:
        return None
    zones = _all_zones()
    lowered = {zone.casefold(): zone for zone in zones}
    match = difflib.get_close_matches(name.casefold(), list(lowered), n=1, cutoff=0.75)
    return lowered[match[0]] if match else None
