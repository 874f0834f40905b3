"""The cron loop: each slot once, even with two cron processes; a missed slot caught up once."""

from __future__ import annotations

from datetime import UTC, datetime

import fakeredis

from remedy.queue import JobQueue
from workers.cron import CronEntry, latest_slot, tick

ENTRY = CronEntry("digest", "workers.ops.verify_audit", "0 9 * * *", "test")


def _queue(conn: fakeredis.FakeRedis) -> JobQueue:
    return JobQueue(conn, "remedy")


def test_latest_slot_is_the_last_firing_not_after_now() -> None:
    assert latest_slot("0 9 * * *", datetime(2026, 11, 25, 9, 0, tzinfo=UTC)) == datetime(2026, 11, 25, 9, 0,
                                                                                          tzinfo=UTC)
    assert latest_slot("0 9 * * *", datetime(2026, 11, 25, 8, 59, tzinfo=UTC)) == datetime(2026, 11, 24, 9, 0,
                                                                                           tzinfo=UTC)


def test_two_cron_processes_enqueue_each_slot_once() -> None:
    server = fakeredis.FakeServer()
    a, b = _queue(fakeredis.FakeRedis(server=server)), _queue(fakeredis.FakeRedis(server=server))
    now = datetime(2026, 11, 25, 9, 0, 5, tzinfo=UTC)
    first = tick(a, now, [ENTRY]) + tick(b, now, [ENTRY])
    again = tick(a, now, [ENTRY]) + tick(b, now, [ENTRY])
    assert len(first) == 1 and again == []
    assert a.rq.count == 1


def test_missed_slot_runs_once_when_cron_comes_back_marked_late() -> None:
    q = _queue(fakeredis.FakeRedis())
    tick(q, datetime(2026, 11, 24, 9, 0, 10, tzinfo=UTC), [ENTRY])
    # cron was down over the 25th's 09:00 and comes back at 11:30
    ids = tick(q, datetime(2026, 11, 25, 11, 30, tzinfo=UTC), [ENTRY])
    assert len(ids) == 1
    job = q.fetch(ids[0])
    assert job.kwargs["late"] is True and job.kwargs["slot"].startswith("2026-11-25T09:00")
    assert tick(q, datetime(2026, 11, 25, 11, 31, tzinfo=UTC), [ENTRY]) == []
