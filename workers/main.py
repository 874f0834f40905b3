"""`remedy worker`: an RQ worker with the JSON serializer and a scheduler for delayed retries."""

from __future__ import annotations

from rq import Worker
from rq.serializers import JSONSerializer

from remedy.services import Services, set_services

# Seconds between RQ maintenance runs (RQ's default: 10 minutes). Maintenance is when a worker finds the
# jobs of a worker that died (their heartbeat lapsed after 90 s) and retries or fails them, and when it
# takes over the scheduler role from a scheduler that died (its lock lapses after 61 s): after a crash or
# a Redis outage, a job of a dead worker and every retry waiting on a delay would otherwise sit up to
# 10 minutes, the user's ⏳ unchanged (tests/chaos/test_outages.py). A minute bounds it to about two.
MAINTENANCE_INTERVAL = 60


def run_worker(services: Services, burst: bool = False) -> bool:
    set_services(services)
    worker = Worker([services.queue.rq], connection=services.redis, serializer=JSONSerializer,
                    maintenance_interval=MAINTENANCE_INTERVAL)
    return bool(worker.work(burst=burst, with_scheduler=True, logging_level="INFO"))
