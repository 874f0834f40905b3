"""RQ failure callback: keep the user informed while retries run, then ❌ with a Retry button."""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any

from rq.exceptions import AbandonedJobError
from rq.job import Job
from rq.timeouts import JobTimeoutException
from sqlalchemy.exc import OperationalError

from remedy.errors import ServiceError
from remedy.queue import Origin, QueueUnavailable
from remedy.services import get_services
from remedy.slack import blocks

log = logging.getLogger("remedy.jobs")

# Our own error families carry messages written for users (and free of secrets).
_EXPLAINED: tuple[type[BaseException], ...] = (ServiceError, QueueUnavailable)


def reason_for(exc: BaseException | None) -> str:
    if exc is None:
        return "the job stopped unexpectedly"
    if isinstance(exc, _EXPLAINED):
        return str(exc)
    if isinstance(exc, OperationalError):
        return "remedy's database is unreachable"
    if isinstance(exc, AbandonedJobError):
        return "the worker running it stopped unexpectedly"
    if isinstance(exc, JobTimeoutException):
        return "it ran past its time limit"
    if isinstance(exc, TimeoutError):
        return "a service took too long to answer"
    # Unknown errors may carry URLs or tokens in their text: show only their kind.
    return f"unexpected error ({type(exc).__name__}); details are in the worker log"


def on_failure(job: Job, connection: Any, exc_type: type[BaseException] | None,
               exc_value: BaseException | None, tb: TracebackType | None) -> None:
    origin_data = (job.kwargs or {}).get("origin") or {}
    origin = Origin.from_dict(origin_data) if origin_data else None
    reason = reason_for(exc_value)
    log.warning("job %s (%s) failed: %s", job.id, job.func_name, reason)
    if origin is None or not origin.response_url:
        return
    if job.should_retry:
        line, blks = blocks.progress(f"{reason} — retrying ({job.retries_left} left)…")
    else:
        line, blks = blocks.failed(f"{job.description}: {reason}", job.id)
    try:
        get_services().poster.respond(origin.response_url, line, blks, replace=origin.replaces_original)
    except Exception:
        log.warning("could not tell the user about job %s", job.id, exc_info=True)
