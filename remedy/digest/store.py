"""The digest schedules, the morning opt-ins and their runs in the database.

A run is *claimed* before anything is posted: a conditional insert, unique on (channel, local date)
— or (user, local date) for a morning DM. The job holding the claim posts; its retries (same job id)
carry on where it stopped. A claim left unfinished by a job that died for good is taken over once it
is older than ``LEASE``, so a crash after claiming delays a digest but never loses it. What was posted
is found again through the poster's idempotency keys, so taking over never posts twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from remedy.db.models_digest import DigestRun, DigestSchedule, MorningOptIn, MorningRun
from remedy.db.session import Database
from remedy.digest.schedule import Due, Plan
from remedy.remediation.store import aware

# Longer than any digest takes (seconds, even with 50 tickets and retries): a claim this old whose
# run is not done belongs to a job that is gone.
LEASE = timedelta(minutes=10)
RunTable = type[DigestRun] | type[MorningRun]


@dataclass(frozen=True)
class Schedule:
    channel_id: str
    plan: Plan
    set_by: str


@dataclass(frozen=True)
class Run:
    id: int
    target: str  # channel (digest) or Slack user id (morning DM)
    local_date: date
    scheduled_for: datetime
    late: bool
    job_id: str
    message_ts: str | None
    done: bool


def _plan(row: DigestSchedule | MorningOptIn, weekdays_only: bool) -> Plan:
    return Plan(row.local_time, row.timezone, weekdays_only, aware(row.set_at))


# -- schedules ---------------------------------------------------------------------------------------
def set_schedule(db: Database, channel: str, plan: Plan, user: str, now: datetime) -> Schedule | None:
    """Store (or replace) the channel's schedule; returns the one it replaced, if any."""
    with db.session() as s:
        row = s.get(DigestSchedule, channel)
        before = Schedule(channel, _plan(row, row.weekdays_only), row.set_by) if row is not None else None
        if row is None:
            row = DigestSchedule(channel_id=channel)
            s.add(row)
        row.local_time, row.timezone, row.weekdays_only = plan.local_time, plan.timezone, plan.weekdays_only
        row.set_by, row.set_at = user, now
    return before


def get_schedule(db: Database, channel: str) -> Schedule | None:
    with db.session() as s:
        row = s.get(DigestSchedule, channel)
        return Schedule(channel, _plan(row, row.weekdays_only), row.set_by) if row is not None else None


def remove_schedule(db: Database, channel: str) -> Schedule | None:
    """Delete the channel's schedule; returns what it was (None: there was none)."""
    with db.session() as s:
        row = s.get(DigestSchedule, channel)
        if row is None:
            return None
        gone = Schedule(channel, _plan(row, row.weekdays_only), row.set_by)
        s.delete(row)
    return gone


def schedules(db: Database) -> list[Schedule]:
    with db.session() as s:
        rows = s.scalars(select(DigestSchedule).order_by(DigestSchedule.channel_id)).all()
        return [Schedule(r.channel_id, _plan(r, r.weekdays_only), r.set_by) for r in rows]


# -- morning opt-ins (weekdays: nobody asked to be greeted on a Sunday) -----------------------------------
def set_morning(db: Database, user: str, local_time: str, timezone: str, now: datetime) -> None:
    with db.session() as s:
        row = s.get(MorningOptIn, user)
        if row is None:
            row = MorningOptIn(slack_user_id=user)
            s.add(row)
        row.local_time, row.timezone, row.set_at = local_time, timezone, now


def get_morning(db: Database, user: str) -> Plan | None:
    with db.session() as s:
        row = s.get(MorningOptIn, user)
        return _plan(row, True) if row is not None else None


def remove_morning(db: Database, user: str) -> Plan | None:
    with db.session() as s:
        row = s.get(MorningOptIn, user)
        if row is None:
            return None
        gone = _plan(row, True)
        s.delete(row)
    return gone


def mornings(db: Database) -> list[tuple[str, Plan]]:
    with db.session() as s:
        rows = s.scalars(select(MorningOptIn).order_by(MorningOptIn.slack_user_id)).all()
        return [(r.slack_user_id, _plan(r, True)) for r in rows]


# -- runs ---------------------------------------------------------------------------------------------------
def _target(table: RunTable) -> Any:
    return table.channel_id if table is DigestRun else table.slack_user_id  # type: ignore[union-attr]


def _view(table: RunTable, row: DigestRun | MorningRun) -> Run:
    target = row.channel_id if isinstance(row, DigestRun) else row.slack_user_id
    return Run(row.id, target, row.local_date, aware(row.scheduled_for) or row.scheduled_for, row.late, row.job_id,
               row.message_ts, row.done_at is not None)


def _row(s: Session, table: RunTable, target: str, day: date) -> DigestRun | MorningRun | None:
    # select() over a union of two mapped classes types its rows as their common base
    found = s.scalar(select(table).where(_target(table) == target, table.local_date == day))
    return cast("DigestRun | MorningRun | None", found)


def find_run(db: Database, table: RunTable, target: str, day: date) -> Run | None:
    with db.session() as s:
        row = _row(s, table, target, day)
        return _view(table, row) if row is not None else None


def claim(db: Database, table: RunTable, target: str, due: Due, job_id: str, now: datetime) -> Run | None:
    """The run of (target, local date) for ``job_id`` to post, or None when it is done or another
    job holds a live claim. The insert is the claim; a unique violation means somebody was first."""
    try:
        with db.session() as s:
            row = table(local_date=due.local_date, scheduled_for=due.scheduled_for, late=due.late,
                        job_id=job_id, claimed_at=now)
            if table is DigestRun:
                row.channel_id = target  # type: ignore[union-attr]
            else:
                row.slack_user_id = target  # type: ignore[union-attr]
            s.add(row)
            s.flush()
            return _view(table, row)
    except IntegrityError:
        return _take_over(db, table, target, due.local_date, job_id, now)


def _take_over(db: Database, table: RunTable, target: str, day: date, job_id: str, now: datetime) -> Run | None:
    """A conditional update: the job's own claim (its retry), or one whose holder is gone."""
    where = [_target(table) == target, table.local_date == day, table.done_at.is_(None),
             or_(table.job_id == job_id, table.claimed_at < now - LEASE)]
    with db.session() as s:
        taken = s.execute(update(table).where(*where).values(job_id=job_id, claimed_at=now))
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            return None
        row = _row(s, table, target, day)
        assert row is not None
        return _view(table, row)


def posted(db: Database, table: RunTable, run: Run, ts: str) -> None:
    with db.session() as s:
        s.execute(update(table).where(table.id == run.id).values(message_ts=ts))


def finished(db: Database, table: RunTable, run: Run, now: datetime) -> None:
    with db.session() as s:
        s.execute(update(table).where(table.id == run.id).values(done_at=now))


def last_run(db: Database, channel: str) -> Run | None:
    """The channel's newest posted digest (for `digest show`)."""
    with db.session() as s:
        row = s.scalar(select(DigestRun).where(DigestRun.channel_id == channel, DigestRun.message_ts.is_not(None))
                       .order_by(DigestRun.local_date.desc()).limit(1))
        return _view(DigestRun, row) if row is not None else None

