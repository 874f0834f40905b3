"""Many Jira writes, side by side, at the rate Jira allows, each ticket's outcome kept apart.

Jira Cloud answers 429 (with Retry-After) once a client goes beyond its budget. Spacing the writes
evenly at the configured rate costs nothing when the budget is right and avoids a storm of 429s; a
429 that comes anyway (another process shares the budget) pauses every worker, not only the one
that got it, because the budget is shared. A refusal (403, 404, 400) fails that ticket only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from remedy.jira.errors import JiraError, JiraRateLimited

_TOLERANCE = 1e-4
DEFAULT_HOLD = 1.0  # a 429 without Retry-After: Jira's budget refills within seconds
MAX_TRIES = 8  # per ticket; only 429s are retried here (the client retries timeouts and 5xx itself)
PROGRESS_EVERY = 1.0  # seconds between progress callbacks (chat.update is ~50 a minute per channel)


class RatePacer:
    """Evenly spaced slots, ``rate`` per second, shared by threads; :meth:`hold` pauses every slot."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if rate <= 0:
            raise ValueError("RatePacer needs a positive rate")
        self._interval = 1.0 / rate
        self._clock, self._sleep = clock, sleep
        self._next = 0.0
        self._held_until = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until this caller's slot comes, and take it."""
        while True:
            with self._lock:
                now = self._clock()
                start = max(self._next, self._held_until)
                if start <= now + _TOLERANCE:
                    self._next = max(self._next, now) + self._interval
                    return
                delay = start - now
            self._sleep(delay)

    def hold(self, seconds: float) -> None:
        """Nobody sends for ``seconds`` (Jira said when its budget refills)."""
        with self._lock:
            self._held_until = max(self._held_until, self._clock() + seconds)


@dataclass(frozen=True)
class Outcome:
    key: str
    ok: bool
    detail: str  # what the write produced (a comment id) or, when not ok, why it failed
    code: str = ""  # "403", "404", "429", "error": how the final report names a failure

    def as_json(self) -> dict[str, object]:
        return {"ok": self.ok, "detail": self.detail, "code": self.code}


def failure_code(error: JiraError) -> str:
    return str(error.status) if error.status else "error"


def _attempt(key: str, work: Callable[[str], str], pacer: RatePacer, max_tries: int) -> Outcome:
    last: JiraError | None = None
    for _ in range(max_tries):
        pacer.wait()
        try:
            return Outcome(key, True, work(key))
        except JiraRateLimited as exc:
            pacer.hold(exc.retry_after or DEFAULT_HOLD)
            last = exc
        except JiraError as exc:
            return Outcome(key, False, str(exc), failure_code(exc))
    assert last is not None
    return Outcome(key, False, str(last), "429")


def run_paced(keys: Sequence[str], work: Callable[[str], str], pacer: RatePacer, workers: int,
              progress: Callable[[int], None] | None = None, each: Callable[[Outcome], None] | None = None,
              max_tries: int = MAX_TRIES, every: float = PROGRESS_EVERY) -> dict[str, Outcome]:
    """``work(key)`` for every key, ``workers`` at a time, each call in one of ``pacer``'s slots.

    From this thread (so never concurrently, and while the workers wait for their slots): ``each``
    with every outcome as it comes, ``progress(done)`` at most every ``every`` seconds while work
    remains. Anything but a JiraError propagates after the running calls finish.
    """
    results: dict[str, Outcome] = {}
    if not keys:
        return results
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(keys)))) as pool:
        pending: set[Future[Outcome]] = {pool.submit(_attempt, key, work, pacer, max_tries) for key in keys}
        told = time.monotonic()
        while pending:
            finished, pending = wait(pending, timeout=every, return_when=FIRST_COMPLETED)
            for future in finished:
                outcome = future.result()
                results[outcome.key] = outcome
                if each is not None:
                    each(outcome)
            if progress is not None and pending and time.monotonic() - told >= every:
                progress(len(results))
                told = time.monotonic()
    return results
