"""A circuit breaker per outside service (Jira, Jamf), per process.

When a service keeps failing, every command that needs it would otherwise spend its own retries on it
and end with the same error: 200 commands in a storm, 800 requests, 200 identical ❌ lines. After
``failures`` consecutive failed calls (5xx, timeouts, connection errors, rate limits that outlasted our
retries) the circuit *opens*: for ``cooldown`` seconds calls fail at once, in the client's own error
family, with a message saying why and when to try again. After the cooldown it is *half-open*: one
trial call goes through (the others still fail at once); its success closes the circuit, its failure
opens it for another cooldown. Any answer from the service, even a 4xx, counts as a success: the
service is up, the request was just wrong.

The clients hold one :class:`Circuit` each and the process builds each client once
(:mod:`remedy.services`), so a circuit is per service and per process; workers on other machines
find out for themselves, which is what a breaker should do (their network may be fine).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

log = logging.getLogger("remedy.circuit")

T = TypeVar("T")
# A failure's verdict: True counts towards opening, False means the service answered (a success for the
# circuit), None says nothing about the service (a local error, a bug) and leaves the state alone.
Verdict = Callable[[BaseException], bool | None]
Refusal = Callable[[str, float], BaseException]


class Circuit:
    """Closed → open after ``failures`` consecutive failures → half-open after ``cooldown`` s → closed.

    ``failures`` 0 turns the breaker off. ``clock`` is wall-clock seconds (``time.time``), injectable so
    tests can step over the cooldown; it also gives the "try again at" time in the message.
    """

    def __init__(self, service: str, failures: int = 5, cooldown: float = 30.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.service = service
        self.threshold = failures
        self.cooldown = cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._inside = threading.local()  # a call made while this thread is already inside one (a token fetch)
        self._failures = 0
        self._opened_at: float | None = None
        self._trial = False  # a half-open trial call is in flight
        self.refused = 0  # calls failed at once while open: what the breaker spared the service
        self.opened = 0  # how many times it opened

    @property
    def state(self) -> str:
        with self._lock:
            if self._opened_at is None:
                return "closed"
            return "half-open" if self._clock() >= self._opened_at + self.cooldown else "open"

    def run(self, call: Callable[[], T], verdict: Verdict, refuse: Refusal) -> T:
        """``call()`` unless the circuit is open, in which case ``refuse(message, seconds_left)`` is raised."""
        if self.threshold <= 0 or getattr(self._inside, "active", False):
            return call()  # off, or nested: the outer call's outcome is the one that counts
        trial = self._admit(refuse)
        self._inside.active = True
        try:
            result = call()
        except BaseException as error:
            self._record(verdict(error) if isinstance(error, Exception) else None, trial)
            raise
        finally:
            self._inside.active = False
        self._record(False, trial)
        return result

    def _admit(self, refuse: Refusal) -> bool:
        """Whether this call is the half-open trial; raises the refusal while open."""
        with self._lock:
            if self._opened_at is None:
                return False
            reopens = self._opened_at + self.cooldown
            now = self._clock()
            if now >= reopens and not self._trial:
                self._trial = True
                return True
            self.refused += 1
            message = self._message(reopens if now < reopens else now + self.cooldown)
            wait = max(reopens - now, 0.0) if now < reopens else self.cooldown
        raise refuse(message, wait)

    def _message(self, reopens: float) -> str:
        at = datetime.fromtimestamp(reopens, UTC).strftime("%H:%M:%S UTC")
        return (f"{self.service} is unavailable: it failed {self._failures} times in a row, so remedy pauses "
                f"calls to it for {self.cooldown:g} s (circuit open); try again at {at}")

    def _record(self, failed: bool | None, trial: bool) -> None:
        with self._lock:
            if trial:
                self._trial = False
            if failed is None:
                return  # no verdict; a trial that ended so lets the next call try instead
            if not failed:
                if self._opened_at is not None:
                    log.info("%s answered again; circuit closed", self.service)
                self._failures, self._opened_at = 0, None
                return
            self._failures += 1
            if trial or (self._opened_at is None and self._failures >= self.threshold):
                self._opened_at = self._clock()
                self.opened += 1
                log.warning("%s failed %d times in a row; circuit open for %g s", self.service, self._failures,
                            self.cooldown)
