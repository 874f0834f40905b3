"""Per-issue write pacing for Jira Cloud.

Jira Cloud limits writes to one issue (about 20 per 2 s) on top of its global rate limits; a burst
of comments, links and watchers on one ticket would otherwise earn 429s. Pacing before sending is
cheaper than backing off after: the burst is spread just enough, and writes to other tickets never
wait for it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

# Windows of keys that have been quiet for a whole period hold nothing useful; sweeping them once
# the table is this big keeps a long-running worker's memory flat.
_SWEEP_AT = 256
_TOLERANCE = 1e-6  # seconds


class WritePacer:
    """A sliding window per issue key: at most ``max_writes`` writes in any ``per_seconds``.

    Thread-safe: worker threads sharing one client share one pacer. A caller that must wait sleeps
    outside the lock, so other keys (and other callers of this key) are never blocked by it.
    """

    def __init__(
        self,
        max_writes: int = 20,
        per_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_writes < 1 or per_seconds <= 0:
            raise ValueError("WritePacer needs max_writes >= 1 and per_seconds > 0")
        self._max_writes = max_writes
        self._per_seconds = per_seconds
        self._clock = clock
        self._sleep = sleep
        self._windows: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait(self, key: str) -> None:
        """Block until one more write to ``key`` fits in its window, then claim that slot."""
        while True:
            delay = self._try_claim(key.upper())
            if delay is None:
                return
            self._sleep(delay)

    def _try_claim(self, key: str) -> float | None:
        """Claim a slot now and return None, or return how long until the oldest slot frees."""
        with self._lock:
            now = self._clock()
            window = self._windows.setdefault(key, deque())
            self._expire(window, now)
            if len(window) < self._max_writes:
                window.append(now)
                if len(self._windows) > _SWEEP_AT:
                    self._sweep(now)
                return None
            # Another thread may claim the freed slot first; the loop in wait() then waits again.
            return max(window[0] + self._per_seconds - now, 0.0)

    def _expire(self, window: deque[float], now: float) -> None:
        # The tolerance keeps float rounding (now + delay landing a hair short of the slot's
        # end) from turning into an endless series of vanishing sleeps.
        while window and window[0] + self._per_seconds - now <= _TOLERANCE:
            window.popleft()

    def _sweep(self, now: float) -> None:
        for key in list(self._windows):
            window = self._windows[key]
            self._expire(window, now)
            if not window:
                del self._windows[key]
