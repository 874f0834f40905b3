"""`audit trail [KEY|all] [since …]`: the audit events of a ticket (or all), oldest first, a page at a time.

Pages are pinned to the newest event seen when the trail was first shown (``upto``), so turning pages
while remedy keeps working never shifts or repeats a line. "since" is read in the asker's timezone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select

from remedy.commands.model import When
from remedy.db.models import AuditEvent
from remedy.db.session import Database
from remedy.errors import UserError
from remedy.memory import Event
from remedy.remediation.store import aware

PAGE_SIZE = 15
ALL_DAYS = 7  # `audit trail all` without "since": the last week, not every event ever
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class TrailPage:
    key: str | None
    since: dt.datetime | None
    events: list[Event]
    page: int
    pages: int
    total: int
    upto: int  # the newest sequence number the trail covers


def since_moment(when: When, tz: str, now: dt.datetime) -> dt.datetime:
    """The start of `since <when>` in UTC: a date, a day (`yesterday`, `mon` = the last Monday, today's
    included) or `today`, at the time given or midnight, in ``tz``. Refuses the future."""
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    if when.date is not None:
        day = when.date
    elif when.day in ("today", None):
        day = today
    elif when.day == "yesterday":
        day = today - dt.timedelta(days=1)
    elif when.day in _WEEKDAYS:
        day = today - dt.timedelta(days=(today.weekday() - _WEEKDAYS.index(when.day)) % 7)
    else:
        raise UserError(f"“{when.raw}” is in the future; the audit trail starts in the past, e.g. `since yesterday`.")
    hour, minute = (int(p) for p in (when.time or "00:00").split(":"))
    start = dt.datetime.combine(day, dt.time(hour, minute), zone).astimezone(dt.UTC)
    if start > now:
        raise UserError(f"“{when.raw}” is in the future; the audit trail starts in the past, e.g. `since yesterday`.")
    return start


def _filtered(query: Select[Any], key: str | None, since: dt.datetime | None,
              upto: int) -> Select[Any]:
    query = query.where(AuditEvent.seq <= upto)
    if key is not None:
        query = query.where(AuditEvent.target == key)
    if since is not None:
        query = query.where(AuditEvent.ts >= since)
    return query


def load_page(db: Database, key: str | None, since: dt.datetime | None, page: int = 1,
              upto: int | None = None) -> TrailPage:
    """Page ``page`` (1 = the oldest events) of the trail; a page past the end is refused."""
    with db.session() as s:
        newest = upto if upto is not None else (s.scalar(select(func.max(AuditEvent.seq))) or 0)
        counted = _filtered(select(AuditEvent), key, since, newest).with_only_columns(func.count())
        total = s.scalar(counted) or 0
        pages = max(1, -(-total // PAGE_SIZE))
        if page > pages:
            raise UserError(f"The trail has {pages} page{'s' if pages != 1 else ''}; page {page} is past its end.")
        rows = s.scalars(_filtered(select(AuditEvent), key, since, newest).order_by(AuditEvent.seq)
                         .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
        events = [Event(r.seq, aware(r.ts) or r.ts, r.actor, r.action, r.target, dict(r.data or {})) for r in rows]
    return TrailPage(key, since, events, page, pages, total, newest)
