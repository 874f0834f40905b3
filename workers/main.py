"""`remedy worker`: an RQ worker with the JSON serializer and a scheduler for delayed retries."""

from __future__ import annotations

from rq import Worker
from rq.serializers import JSONSerializer

from remedy.services import Services, set_services


def run_worker(services: Services, burst: bool = False) -> bool:
    set_services(services)
    worker = Worker([services.queue.rq], connection=services.redis, serializer=JSONSerializer)
    return bool(worker.work(burst=burst, with_scheduler=True, logging_level="INFO"))
