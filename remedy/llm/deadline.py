"""One deadline for a whole model call.

httpx's timeouts (what ``ollama.Client(timeout=…)`` sets) bound each connect, read and write, not the
call: a server that sends a byte every second never trips an 8 s read timeout, and neither does a
small model stuck repeating itself while it streams. Two layers make OLLAMA_TIMEOUT the limit of the
whole call:

* :func:`within` runs the call on a thread of its own and stops waiting at the deadline, so the job's
  wait is bounded exactly, whatever the socket does;
* :class:`DeadlineTransport` makes that abandoned call end soon after: each read may take at most the
  time left, and the body is cut when the deadline passes between two chunks, which closes the
  connection (Ollama stops generating when its client hangs up).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import httpx

T = TypeVar("T")
_LOCAL = threading.local()  # the deadline of the call running on this thread, if any
_PHASES = ("connect", "read", "write", "pool")


class DeadlineExceeded(TimeoutError):
    """The call did not finish by its deadline; the caller has stopped waiting for it."""


def within(seconds: float, call: Callable[[], T]) -> T:
    """``call()``'s result, its exception, or :class:`DeadlineExceeded` once ``seconds`` have passed."""
    deadline = time.monotonic() + seconds
    outcome: list[tuple[bool, object]] = []
    finished = threading.Event()

    def run() -> None:
        _LOCAL.deadline = deadline
        try:
            outcome.append((True, call()))
        except BaseException as exc:  # handed to the waiting thread, which raises it
            outcome.append((False, exc))
        finally:
            finished.set()

    # A thread per call, not a pool: a pool's queue would eat into the deadline of the calls behind it.
    threading.Thread(target=run, name="remedy-llm-call", daemon=True).start()
    if not finished.wait(seconds):
        raise DeadlineExceeded(f"no full answer within {seconds:g} s")
    ok, value = outcome[0]
    if not ok:
        raise value  # type: ignore[misc]  # always a BaseException when not ok
    return value  # type: ignore[return-value]  # call()'s own result


class _CutAtDeadline(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, deadline: float, request: httpx.Request) -> None:
        self._inner, self._deadline, self._request = inner, deadline, request

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._inner:
            if time.monotonic() > self._deadline:
                raise httpx.ReadTimeout("the answer was still arriving at the call's deadline", request=self._request)
            yield chunk

    def close(self) -> None:
        self._inner.close()


class DeadlineTransport(httpx.BaseTransport):
    """An HTTP transport that holds each request to the deadline :func:`within` set on its thread
    (requests made outside :func:`within` pass through unchanged)."""

    def __init__(self, inner: httpx.BaseTransport | None = None) -> None:
        self._inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        deadline: float | None = getattr(_LOCAL, "deadline", None)
        if deadline is None:
            return self._inner.handle_request(request)
        left = deadline - time.monotonic()
        if left <= 0:
            raise httpx.ConnectTimeout("the call's deadline passed before the request was sent", request=request)
        asked = request.extensions.get("timeout") or {}
        request.extensions["timeout"] = {p: left if asked.get(p) is None else min(asked[p], left) for p in _PHASES}
        response = self._inner.handle_request(request)
        if not isinstance(response.stream, httpx.SyncByteStream):
            return response  # not a body we read chunk by chunk: the per-read limit above still holds
        return httpx.Response(response.status_code, headers=response.headers, extensions=response.extensions,
                              stream=_CutAtDeadline(response.stream, deadline, request))

    def close(self) -> None:
        self._inner.close()
