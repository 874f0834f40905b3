"""An RQ worker running in a thread of the current process (embedded demo, console, tests).

RQ's workers install signal handlers and signal-based timeouts, which only work on the main
thread; this one uses timer-based timeouts and leaves signals alone. Delayed retries are
promoted by the same loop, so nothing needs a separate scheduler process.
"""

from __future__ import annotations

import threading
import time

from rq import SimpleWorker
from rq.job import Job
from rq.registry import ScheduledJobRegistry, StartedJobRegistry
from rq.serializers import JSONSerializer
from rq.timeouts import TimerDeathPenalty

from remedy.queue import JobQueue


class _ThreadWorker(SimpleWorker):
    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self) -> None:
        return None

    # RQ listens on a pub/sub channel for `rq` CLI commands (stop, kill-horse) in a thread it joins
    # for up to 1 s at the end of every burst; an in-process worker takes no such commands.
    def subscribe(self) -> None:
        return None

    def unsubscribe(self) -> None:
        return None


class InProcessWorker:
    def __init__(self, queue: JobQueue, poll: float = 0.005) -> None:
        self.queue = queue
        self.poll = poll
        self._worker: _ThreadWorker | None = None  # created on first use: RQ talks to Redis at once
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._thread: threading.Thread | None = None

    def promote_due(self) -> int:
        """Move retries whose delay has passed back onto the queue."""
        registry = ScheduledJobRegistry(queue=self.queue.rq)
        due = registry.get_jobs_to_schedule()
        for job_id in due:
            job = Job.fetch(job_id, connection=self.queue.connection, serializer=JSONSerializer)
            registry.remove(job)
            self.queue.rq.enqueue_job(job)
        return len(due)

    def run_pending(self) -> bool:
        """Run everything that is queued now; True if any job ran."""
        self.promote_due()
        if self._worker is None:
            self._worker = _ThreadWorker([self.queue.rq], connection=self.queue.connection,
                                         serializer=JSONSerializer)
        return bool(self._worker.work(burst=True, logging_level="WARNING"))

    def busy(self) -> bool:
        q = self.queue.rq
        return q.count > 0 or StartedJobRegistry(queue=q).count > 0

    def drain(self, timeout: float = 60.0, include_scheduled: bool = True) -> None:
        """Block until the queue is empty (and, optionally, scheduled retries are done)."""
        deadline = time.monotonic() + timeout
        scheduled = ScheduledJobRegistry(queue=self.queue.rq)
        while time.monotonic() < deadline:
            if self._thread is None:
                self.run_pending()
            settled = not self.busy() and not (include_scheduled and scheduled.count)
            if settled and (self._thread is None or self._idle.is_set()):
                return
            time.sleep(self.poll)
        raise TimeoutError("jobs still running after drain timeout")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="remedy-worker", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._idle.clear()
            ran = self.run_pending()
            if not ran:
                self._idle.set()
                self._stop.wait(self.poll)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
