"""The job queue: RQ on Redis with JSON arguments only.

The Slack edge enqueues by dotted name (``"workers.tickets.work"``) so that ``remedy/`` never
imports the workers; arguments must be JSON (no pickle crosses Redis).
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Callback, Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer

USER_JOBS_KEY = "remedy:jobs:user:{user}"
USER_JOBS_KEEP = 20
USER_JOBS_TTL = 7 * 24 * 3600
# Interactive commands: two quick retries; a service down longer than this gets ❌ + a Retry button.
DEFAULT_RETRY_DELAYS = (3, 15)
FAILED_KEEP = 7 * 24 * 3600


class QueueUnavailable(Exception):
    """Redis could not take the job: nothing was enqueued, the user must be told."""


class JobNotFound(Exception):
    """The job id is unknown or has expired."""


@dataclass(frozen=True)
class Origin:
    """Where a request came from, so a job can answer in the right place."""

    user_id: str
    channel_id: str | None = None
    response_url: str | None = None
    trigger_id: str | None = None
    team_id: str | None = None
    text: str = ""
    source: str = "slash"  # slash | button | modal | console | cron | webhook
    thread_ts: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def replaces_original(self) -> bool:
        """Whether answers replace the message the request came from: yes for the ⏳ of a slash
        command or a button on an ephemeral message; no for a button on a channel message (that
        would overwrite the card) or a modal (its response URL belongs to no message)."""
        if self.source == "button":
            return bool(self.extra.get("ephemeral"))
        return self.source != "modal"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Origin:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def connect(url: str) -> redis.Redis:
    """A Redis client that fails fast: the bot must answer Slack within 3 s even if Redis is gone."""
    return redis.Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=3.0,
                                health_check_interval=30)


def new_job_id() -> str:
    return "r" + secrets.token_hex(6)


class JobQueue:
    """Enqueue by dotted name, list a user's recent jobs, requeue a failed one."""

    def __init__(self, connection: redis.Redis, name: str = "remedy", is_async: bool = True,
                 retry_delays: list[int] | None = None) -> None:
        self.connection = connection
        self.retry_delays = list(DEFAULT_RETRY_DELAYS if retry_delays is None else retry_delays)
        self.rq = Queue(name, connection=connection, serializer=JSONSerializer, is_async=is_async)

    def enqueue(self, func: str, kwargs: dict[str, Any], origin: Origin, *, description: str = "",
                job_id: str | None = None, retry: bool = True, unique: bool = False) -> Job:
        """Enqueue ``func(origin=…, **kwargs)``; raises :class:`QueueUnavailable` if Redis is down.

        With ``unique`` and an existing ``job_id`` (a retried Slack event), the existing job is
        returned and nothing new is queued."""
        if unique and job_id and self.rq.fetch_job(job_id) is not None:
            return self.fetch(job_id)
        job_id = job_id or new_job_id()
        try:
            with self.connection.pipeline() as pipe:
                job = self.rq.enqueue_call(
                    func, kwargs={"origin": origin.to_dict(), **kwargs}, job_id=job_id,
                    description=description or origin.text or func, meta={"user": origin.user_id},
                    retry=self._retry() if retry else None,
                    failure_ttl=FAILED_KEEP, result_ttl=24 * 3600,
                    on_failure=Callback("workers.failures.on_failure"), pipeline=pipe)
                key = USER_JOBS_KEY.format(user=origin.user_id)
                pipe.lpush(key, job_id)
                pipe.ltrim(key, 0, USER_JOBS_KEEP - 1)
                pipe.expire(key, USER_JOBS_TTL)
                pipe.execute()
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            raise QueueUnavailable(f"queue unreachable: {type(exc).__name__}") from exc
        if not self.rq.is_async:
            self.rq.run_job(job)
        return job

    def _retry(self) -> Retry | None:
        delays = self.retry_delays
        return Retry(max=len(delays), interval=delays) if delays else None

    def recent_for(self, user_id: str, limit: int = 10) -> list[Job]:
        raw: list[bytes] = self.connection.lrange(USER_JOBS_KEY.format(user=user_id), 0, limit - 1)  # type: ignore[assignment]
        ids = [i.decode() for i in raw]
        jobs = Job.fetch_many(ids, connection=self.connection, serializer=JSONSerializer)
        return [j for j in jobs if j is not None]

    def fetch(self, job_id: str) -> Job:
        try:
            return Job.fetch(job_id, connection=self.connection, serializer=JSONSerializer)
        except NoSuchJobError as exc:
            raise JobNotFound(job_id) from exc

    def requeue_failed(self, job_id: str) -> Job:
        """Put a failed job back on the queue (same id, same arguments)."""
        job = self.fetch(job_id)
        registry = FailedJobRegistry(queue=self.rq)
        try:
            registry.requeue(job)
        except (RedisError, ValueError, NoSuchJobError) as exc:
            raise JobNotFound(f"{job_id} is not a failed job") from exc
        return job
