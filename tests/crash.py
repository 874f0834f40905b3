"""What a worker SIGKILLed right after its last service answered leaves behind, replayed in-process:
every action record of the job back to "maybe done" (pending, no external id), then RQ running the
same job again. Idempotency tests call it and assert nothing was applied twice."""

from __future__ import annotations

from rq.job import Job
from rq.serializers import JSONSerializer
from sqlalchemy import update

from remedy.db.models import Action
from remedy_cli.embedded import Runtime


def crash_and_rerun(rt: Runtime, job_id: str) -> None:
    with rt.services.db.session() as s:
        s.execute(update(Action).where(Action.idempotency_key.startswith(job_id))
                  .values(status="pending", external_id=None))
    job = Job.fetch(job_id, connection=rt.services.redis, serializer=JSONSerializer)
    assert job.func_name is not None
    rt.services.queue.rq.enqueue_call(job.func_name, kwargs=job.kwargs, job_id=job.id)
    rt.drain()
