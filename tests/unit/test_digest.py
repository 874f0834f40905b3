"""Scheduled digests through the real app and the real cron loop, on simulated time: three channels in
three timezones each get their digest once at local 09:00, none on a weekend with `weekdays`, the
DST week keeps 09:00 local (the UTC hour moves), two cron processes and retried jobs post once, a
claim left by a dead job is completed, and a run cron missed is caught up once that day, marked late.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

from rq.job import Job
from rq.serializers import JSONSerializer
from sqlalchemy import select, update

from remedy.db.models import Action
from remedy.db.models_digest import DigestRun
from remedy.digest import store
from remedy.digest.schedule import Due
from remedy.queue import JobQueue, Origin
from remedy.sandbox.slack_records import Channel, Message
from remedy.slack.mrkdwn import unescape
from remedy_cli.embedded import Runtime
from tests.slackview import block_texts
from workers.cron import SCHEDULE, tick

DIGESTS = next(entry for entry in SCHEDULE if entry.name == "digests")
BERLIN, NEW_YORK, TOKYO = "C0BERLIN", "C0NEWYORK", "C0TOKYO"
HOUR = timedelta(hours=1)


# -- helpers (test_digest_content.py uses them too) -----------------------------------------------------
def answer(rt: Runtime, text: str, user: str = "U01ALICE", channel: str = "C0CPETEAM") -> str:
    sent = rt.slash(text, user=user, channel=channel)
    rt.drain()
    view = rt.sandbox.slack_state.response_view(sent.response_url)
    return unescape("\n".join([view.text, block_texts(view.blocks)])) if view else sent.ack_text


def channels(rt: Runtime, *ids: str) -> None:
    for ident in ids:
        rt.sandbox.slack_state.channels[ident] = Channel(ident, ident.lower())


def go_to(rt: Runtime, moment: datetime) -> None:
    rt.sandbox.jamf_state.advance((moment - rt.sandbox.now()).total_seconds())


def cron(rt: Runtime, queue: JobQueue | None = None) -> list[str]:
    """One tick of `remedy cron` at the simulated now (the digests entry), and every job it caused."""
    ids = tick(queue or rt.services.queue, rt.sandbox.now(), [DIGESTS])
    rt.drain()
    return ids


def digests(rt: Runtime, channel: str) -> list[Message]:
    return [m for m in rt.sandbox.slack_state.messages(channel) if m.text.startswith("📰 Daily digest")]


def runs(rt: Runtime, channel: str) -> list[DigestRun]:
    with rt.services.db.session() as s:
        return list(s.scalars(select(DigestRun).where(DigestRun.channel_id == channel)
                              .order_by(DigestRun.local_date)))


def posted_at(rt: Runtime, until: datetime, step: timedelta, *chans: str) -> dict[str, list[datetime]]:
    """Tick cron every ``step`` until ``until``; per channel, the simulated times digests appeared."""
    seen: dict[str, list[datetime]] = {c: [] for c in chans}
    while rt.sandbox.now() + step <= until:
        go_to(rt, rt.sandbox.now() + step)
        before = {c: len(digests(rt, c)) for c in chans}
        cron(rt)
        for c in chans:
            seen[c] += [rt.sandbox.now()] * (len(digests(rt, c)) - before[c])
    return seen


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


# -- three timezones, weekends -------------------------------------------------------------------------------
def test_three_timezones_each_once_at_local_nine_and_weekdays_skip_the_weekend(runtime: Runtime) -> None:
    channels(runtime, BERLIN, NEW_YORK, TOKYO)
    # Set on Wed 25 Nov at 09:00 UTC: Berlin's 09:00 has passed today, so its first digest is tomorrow.
    assert "Next digest: Thu 26 Nov 09:00 Europe/Berlin (08:00 UTC)" in answer(
        runtime, "digest here 09:00 Europe/Berlin weekdays", channel=BERLIN)
    assert "Next digest: Wed 25 Nov 09:00 America/New_York (14:00 UTC)" in answer(
        runtime, "digest here 9am America/New_York", channel=NEW_YORK)
    assert "Next digest: Thu 26 Nov 09:00 Asia/Tokyo (00:00 UTC)" in answer(
        runtime, "digest here 09:00 Asia/Tokyo daily", channel=TOKYO)

    seen = posted_at(runtime, utc(2026, 12, 1, 1), HOUR, BERLIN, NEW_YORK, TOKYO)

    # Wed 25 Nov … Tue 1 Dec: Berlin and New York skip Sat 28 / Sun 29, Tokyo (daily) does not.
    assert seen[BERLIN] == [utc(2026, 11, d, 8) for d in (26, 27, 30)]
    assert seen[NEW_YORK] == [utc(2026, 11, d, 14) for d in (25, 26, 27, 30)]
    assert seen[TOKYO] == [utc(2026, 11, d, 0) for d in (26, 27, 28, 29, 30)] + [utc(2026, 12, 1, 0)]
    assert [r.local_date for r in runs(runtime, TOKYO)] == [date(2026, 11, d) for d in (26, 27, 28, 29, 30)] + [
        date(2026, 12, 1)]
    assert not any(r.late for c in (BERLIN, NEW_YORK, TOKYO) for r in runs(runtime, c))
    assert all(r.done_at is not None and r.message_ts for r in runs(runtime, NEW_YORK))
    [first] = [m for m in digests(runtime, TOKYO) if "Thu 26 Nov" in m.text]
    assert "No active remediations" in block_texts(first.blocks)


def test_the_dst_week_keeps_nine_local_and_moves_the_utc_hour(runtime: Runtime) -> None:
    channels(runtime, BERLIN, NEW_YORK)
    answer(runtime, "digest here 09:00 Europe/Berlin", channel=BERLIN)
    answer(runtime, "digest here 09:00 America/New_York", channel=NEW_YORK)
    # Europe goes to summer time on Sun 28 Mar 2027 (last Sunday of March); New York did on 14 Mar.
    go_to(runtime, utc(2027, 3, 25, 4))  # just after midnight in New York: nothing of the 24th is caught up
    seen = posted_at(runtime, utc(2027, 3, 31, 12), HOUR, BERLIN, NEW_YORK)
    assert seen[BERLIN] == [utc(2027, 3, 25, 8), utc(2027, 3, 26, 8), utc(2027, 3, 29, 7), utc(2027, 3, 30, 7),
                            utc(2027, 3, 31, 7)]
    assert seen[NEW_YORK] == [utc(2027, 3, d, 13) for d in (25, 26, 29, 30)]
    assert "Next digest: Thu 1 Apr 09:00 Europe/Berlin (07:00 UTC)" in answer(runtime, "digest show", channel=BERLIN)


# -- once, however often it runs ----------------------------------------------------------------------------
def test_two_cron_processes_and_racing_scans_post_once(runtime: Runtime) -> None:
    channels(runtime, BERLIN)
    answer(runtime, "digest here 09:00 Europe/Berlin", channel=BERLIN)
    go_to(runtime, utc(2026, 11, 26, 8, 0, 5))
    other = JobQueue(runtime.services.redis, runtime.services.settings.REMEDY_QUEUE)  # a second `remedy cron`
    assert len(cron(runtime) + cron(runtime, other)) == 1
    assert len(digests(runtime, BERLIN)) == 1
    # Friday: two scans of different slots queued before either ran (a retried scan, a cron restarted
    # elsewhere): each finds the digest due and enqueues a job for it; the claim lets one of them post.
    go_to(runtime, utc(2026, 11, 27, 8, 0))
    for slot in ("08:00", "08:05"):
        runtime.services.queue.enqueue("workers.digest.run_due", {"slot": f"2026-11-27T{slot}:00+00:00"},
                                       Origin(user_id="cron", source="cron", text="digests"),
                                       job_id=f"scan-{slot.replace(':', '')}")
    runtime.drain()
    assert len(digests(runtime, BERLIN)) == 2
    go_to(runtime, utc(2026, 11, 27, 9, 0))
    cron(runtime)
    assert [r.local_date for r in runs(runtime, BERLIN)] == [date(2026, 11, 26), date(2026, 11, 27)]
    assert len(digests(runtime, BERLIN)) == 2


def test_a_retried_job_posts_nothing_new_and_a_crash_after_posting_is_found(runtime: Runtime) -> None:
    channels(runtime, BERLIN)
    answer(runtime, "create jamf policy CPE-3222")
    answer(runtime, "deploy pilot CPE-3222")
    answer(runtime, "digest here 09:00 Europe/Berlin", channel=BERLIN)
    go_to(runtime, utc(2026, 11, 26, 8, 0))
    cron(runtime)
    everything = runtime.sandbox.slack_state.all_messages(BERLIN)
    [digest] = digests(runtime, BERLIN)
    [run] = runs(runtime, BERLIN)
    assert len(everything) == 3  # the schedule's line, the digest and CPE-3222's update in its thread

    job = _rerun(runtime, run.job_id)
    assert runtime.sandbox.slack_state.all_messages(BERLIN) == everything

    # A worker killed right after posting, before recording it: the claim unfinished, the actions pending.
    with runtime.services.db.session() as s:
        s.execute(update(DigestRun).values(message_ts=None, done_at=None))
        s.execute(update(Action).where(Action.idempotency_key.startswith("digest-C0BERLIN"))
                  .values(status="pending", external_id=None))
    _rerun(runtime, job.id)
    assert len(runtime.sandbox.slack_state.all_messages(BERLIN)) == len(everything)
    [again] = runs(runtime, BERLIN)
    assert again.message_ts == digest.ts and again.done_at is not None


def test_a_claim_left_by_a_dead_job_is_taken_over_after_the_lease(runtime: Runtime) -> None:
    channels(runtime, BERLIN)
    answer(runtime, "digest here 09:00 Europe/Berlin", channel=BERLIN)
    go_to(runtime, utc(2026, 11, 26, 8, 0))
    due = Due(date(2026, 11, 26), utc(2026, 11, 26, 8), False)
    assert store.claim(runtime.services.db, DigestRun, BERLIN, due, "dead-job", runtime.sandbox.now()) is not None
    cron(runtime)
    assert digests(runtime, BERLIN) == []  # the claim is live: its holder may still be posting
    go_to(runtime, utc(2026, 11, 26, 8, 15))
    cron(runtime)
    [digest] = digests(runtime, BERLIN)
    assert "(late" not in digest.text  # it was on time when first claimed
    go_to(runtime, utc(2026, 11, 26, 8, 30))
    cron(runtime)
    assert len(digests(runtime, BERLIN)) == 1


def test_concurrent_claims_of_one_run_have_one_winner(runtime: Runtime) -> None:
    due = Due(date(2026, 11, 26), utc(2026, 11, 26, 8), False)
    won: list[object] = []
    start = threading.Barrier(8)

    def claim(i: int) -> None:
        start.wait()
        won.append(store.claim(runtime.services.db, DigestRun, BERLIN, due, f"job-{i}", utc(2026, 11, 26, 8)))

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r is not None for r in won) == 1


# -- a missed run ------------------------------------------------------------------------------------------
def test_a_missed_run_is_caught_up_once_that_day_marked_late_and_never_the_next_day(runtime: Runtime) -> None:
    channels(runtime, BERLIN)
    answer(runtime, "digest here 09:00 Europe/Berlin", channel=BERLIN)
    go_to(runtime, utc(2026, 11, 26, 10, 30))  # cron was down at 09:00 Berlin; back at 11:30 local
    cron(runtime)
    [late] = digests(runtime, BERLIN)
    assert late.text.startswith("📰 Daily digest · Thu 26 Nov (late: scheduled 09:00)")
    go_to(runtime, utc(2026, 11, 26, 10, 35))
    cron(runtime)
    assert len(digests(runtime, BERLIN)) == 1
    assert "(late)" in answer(runtime, "digest show", channel=BERLIN)

    # Down all of Friday: Friday's digest is not posted on Monday; Monday's comes on time.
    go_to(runtime, utc(2026, 11, 30, 7, 55))
    cron(runtime)
    assert len(digests(runtime, BERLIN)) == 1
    go_to(runtime, utc(2026, 11, 30, 8, 0))
    cron(runtime)
    assert [r.local_date for r in runs(runtime, BERLIN)] == [date(2026, 11, 26), date(2026, 11, 30)]
    assert digests(runtime, BERLIN)[-1].text.startswith("📰 Daily digest · Mon 30 Nov:")


def _rerun(rt: Runtime, job_id: str) -> Job:
    """The same job (same id and arguments) run once more, as RQ does after a worker died."""
    job = Job.fetch(job_id, connection=rt.services.redis, serializer=JSONSerializer)
    assert job.func_name is not None
    rt.services.queue.rq.enqueue_call(job.func_name, kwargs=job.kwargs, job_id=job.id)
    rt.drain()
    return job
