"""Failure injection shared by the simulators: the next N requests (whose path contains a string)
answer with an error status, and every request can be slowed down."""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass
class InjectedFailure:
    status: int
    remaining: int
    retry_after: int | None = None
    path_contains: str | None = None


class Faults:
    """Mixin for a simulator's state; the state defines ``failures``, ``latency`` and ``lock``."""

    failures: list[InjectedFailure]
    latency: float
    lock: threading.RLock

    def fail_next(self, status: int, times: int = 1, retry_after: int | None = None,
                  path_contains: str | None = None) -> None:
        """Answer the next ``times`` requests (whose path contains ``path_contains``) with ``status``."""
        with self.lock:
            self.failures.append(InjectedFailure(status, times, retry_after, path_contains))

    def set_latency(self, seconds: float) -> None:
        self.latency = seconds

    def take_failure(self, path: str) -> InjectedFailure | None:
        with self.lock:
            failure = next((f for f in self.failures if (f.path_contains or "") in path), None)
            if failure is not None:
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self.failures.remove(failure)
            return failure
