"""What every job runs inside: services, the origin, the ⏳ message, user-facing failures.

A job raises :class:`~remedy.errors.UserError` (or a client error that means the same) for
things a retry can't fix: the context turns it into a ❌ line and the job ends. Anything else
propagates so RQ retries it; the final failure is reported by ``workers.failures``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from rq import get_current_job

from remedy.config import ConfigError
from remedy.errors import UserError
from remedy.jira.errors import JiraAuthError, JiraForbidden, JiraInvalid, JiraNotFound
from remedy.queue import Origin
from remedy.services import Services, get_services
from remedy.slack import blocks
from remedy.slack.poster import SlackPostError

log = logging.getLogger("remedy.jobs")

# Client errors that no retry will cure: the user must change something.
PERMANENT: tuple[type[Exception], ...] = (UserError, JiraNotFound, JiraForbidden, JiraInvalid,
                                          JiraAuthError, SlackPostError, ConfigError)


@dataclass
class JobContext:
    services: Services
    origin: Origin
    job_id: str

    @property
    def user(self) -> str:
        return self.origin.user_id

    @property
    def channel(self) -> str:
        channel = self.origin.channel_id or self.services.settings.REMEDY_HOME_CHANNEL
        if not channel:
            raise UserError("I don't know which channel to answer in; run the command in a channel.")
        return channel

    def key(self, name: str) -> str:
        """An idempotency key for one side effect of this command (stable across retries)."""
        return f"{self.job_id}:{name}"

    def done(self, text: str) -> None:
        line, blks = blocks.done(text)
        self._respond(line, blks)

    def fail(self, reason: str) -> None:
        """❌ without a Retry button: used for failures a retry would repeat."""
        line, blks = blocks.failed(reason)
        self._respond(line, blks)

    def show(self, text: str, blks: list[dict[str, Any]]) -> None:
        """The job's answer, only to the user, where the ⏳ was."""
        self.services.poster.respond(self.origin.response_url, text, blks, replace=self.origin.replaces_original)

    def _respond(self, line: str, blks: list[dict[str, Any]]) -> None:
        try:
            self.show(line, blks)
        except Exception:  # the ⏳ edit is a courtesy; never let it fail the work itself
            log.warning("could not edit the response message for job %s", self.job_id, exc_info=True)


@contextmanager
def job_context(origin: dict[str, Any]) -> Iterator[JobContext]:
    job = get_current_job()
    ctx = JobContext(get_services(), Origin.from_dict(origin), job.id if job else "inline")
    try:
        yield ctx
    except PERMANENT as exc:
        log.info("job %s ended for the user: %s", ctx.job_id, exc)
        if job is not None:  # so `jobs` shows it as refused, not as done
            job.meta["refused"] = str(exc)[:300]
            job.save_meta()
        ctx.fail(str(exc))
