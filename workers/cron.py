"""`remedy cron`: enqueue periodic jobs on time, once per slot, catching up a missed slot.

RQ's own CronScheduler enqueues with the pickle serializer and would run twice if two cron
processes were started by mistake; this loop claims each slot in Redis (``SET NX``) before
enqueueing, so a slot runs once however many cron processes there are, and a slot missed
while cron was down runs once when it comes back (marked late).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from croniter import croniter

from remedy.queue import JobQueue, Origin

log = logging.getLogger("remedy.cron")
SLOT_KEY = "remedy:cron:slot:{name}:{ts}"
LAST_KEY = "remedy:cron:last:{name}"
LATE_AFTER = timedelta(minutes=5)


@dataclass(frozen=True)
class CronEntry:
    name: str
    func: str
    cron: str  # UTC
    why: str


SCHEDULE: list[CronEntry] = [
    CronEntry("verify-audit", "workers.ops.verify_audit", "17 * * * *",
              "catch audit-trail tampering within the hour"),
    CronEntry("refresh-rollouts", "workers.webhooks.refresh_active", "*/30 * * * *",
              "re-measure rollouts in progress even when Jamf webhooks are lost or debounced"),
    CronEntry("expire-sessions", "workers.sessions.expire_sessions", "*/10 * * * *",
              "close work sessions left open past their time box and DM each user a summary"),
    CronEntry("exec-summary", "workers.exec_summary.weekly", "0 8 * * 1",
              "the week's executive summary to REMEDY_LEADERSHIP_CHANNEL (Mondays 08:00 UTC), once"),
    CronEntry("prune-audit", "workers.ops.prune_audit", "23 3 * * *",
              "delete audit events past REMEDY_AUDIT_RETENTION_DAYS, recorded so the chain still verifies"),
    CronEntry("digests", "workers.digest.run_due", "*/5 * * * *",
              "post each channel's digest and each opted-in morning DM once its local time has come"),
    CronEntry("post-risks", "workers.insights.post_risks", "41 * * * *",
              "tell each team's channel of new risks, and of risks whose evidence changed, once each"),
]


def latest_slot(cron: str, now: datetime) -> datetime:
    """The most recent time ≤ now at which ``cron`` fires (UTC)."""
    it = croniter(cron, now.astimezone(UTC).replace(tzinfo=None) + timedelta(microseconds=1))
    prev: datetime = it.get_prev(datetime)
    return prev.replace(tzinfo=UTC)


def tick(queue: JobQueue, now: datetime | None = None, schedule: list[CronEntry] | None = None) -> list[str]:
    """Enqueue every entry whose latest slot has not run yet; returns the job ids enqueued."""
    now = now or datetime.now(UTC)
    enqueued: list[str] = []
    for entry in schedule or SCHEDULE:
        slot = latest_slot(entry.cron, now)
        stamp = int(slot.timestamp())
        claimed = queue.connection.set(SLOT_KEY.format(name=entry.name, ts=stamp), "1", nx=True,
                                       ex=7 * 24 * 3600)
        last = queue.connection.get(LAST_KEY.format(name=entry.name))
        if not claimed or (last is not None and int(last) >= stamp):
            continue
        queue.connection.set(LAST_KEY.format(name=entry.name), stamp)
        late = now - slot > LATE_AFTER
        job_id = f"cron-{entry.name}-{stamp}"
        origin = Origin(user_id="cron", source="cron", text=entry.name, extra={"late": late})
        queue.enqueue(entry.func, {"slot": slot.isoformat(), "late": late}, origin,
                      description=f"cron {entry.name}", job_id=job_id, retry=False)
        log.info("enqueued %s for %s%s", entry.name, slot.isoformat(), " (late)" if late else "")
        enqueued.append(job_id)
    return enqueued


def run_cron(queue: JobQueue, stop: threading.Event | None = None, every: float = 20.0) -> None:
    stop = stop or threading.Event()
    log.info("cron started: %s", ", ".join(f"{e.name} [{e.cron} UTC]" for e in SCHEDULE))
    while not stop.is_set():
        try:
            tick(queue)
        except Exception:
            log.exception("cron tick failed; trying again in %.0f s", every)
        stop.wait(every)
