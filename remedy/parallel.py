"""Run independent service calls side by side (each call already has its own timeout)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

# Jira and Jamf both ask for a handful of concurrent connections per client at most.
MAX_PARALLEL = 4
T = TypeVar("T")


def parallel(calls: Sequence[Callable[[], Any]]) -> list[Any]:
    """Results in call order; the first exception (in call order) is raised after all finished."""
    if len(calls) <= 1:
        return [call() for call in calls]
    return started(calls)()


def started(calls: Sequence[Callable[[], Any]]) -> Callable[[], list[Any]]:
    """Start ``calls`` now and go on; the returned function waits for their results (in call order,
    the first exception raised), so the caller can make another request while these are in flight."""
    pool = ThreadPoolExecutor(max_workers=max(1, min(MAX_PARALLEL, len(calls))))
    futures = [pool.submit(call) for call in calls]
    pool.shutdown(wait=False)

    def results() -> list[Any]:
        errors = [f.exception() for f in futures]
        for error in errors:
            if error is not None:
                raise error
        return [f.result() for f in futures]
    return results


def later(call: Callable[[], T]) -> Callable[[], T]:
    """One call started now; the returned function waits for its result (or raises its exception)."""
    results = started([call])
    return lambda: results()[0]
