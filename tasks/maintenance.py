"""Housekeeping tasks on the maintenance queue."""
from __future__ import annotations

import logging
from typing import Annotated, Any

from pydantic import Field

from app.platform.arguments import NonNegativeInt
from app.platform.celery_app import celery
from app.platform.jobs.retention import prune_jobs as prune_jobs_now
from app.settings import get_settings

log = logging.getLogger(__name__)


class DrillFailure(RuntimeError):
    """Raised on purpose by maintenance.fail, to exercise alerting and the failed-jobs views."""


@celery.task(name="maintenance.sweep_leases", queue_name="maintenance", bind=True, leased=False)
def sweep_leases(self: Any) -> dict[str, Any]:
    """Beat, every LEASE_SWEEP_INTERVAL_SECONDS: re-send the work of worker processes that stopped
    heartbeating, and drop their unacked broker messages (README "Recovery")."""
    import redis

    from app.db import get_engine
    from app.platform import lease_sweep
    from app.platform.leases import TakenOver

    transport = celery.conf.broker_transport_options or {}

    def publish(lease: TakenOver) -> None:
        work = lease.work
        # The original task id: analysis job ids and supplier sync rows are keyed by it.
        celery.send_task(work.task_name, args=work.args, kwargs=work.kwargs, task_id=work.task_id,
                         queue=work.queue, priority=work.priority)

    client = redis.Redis.from_url(celery.conf.broker_url, socket_connect_timeout=5, socket_timeout=10)
    try:
        return lease_sweep.sweep(get_engine(), publish, lambda tag: lease_sweep.forget_unacked(
            client, tag, unacked_key=transport.get("unacked_key", "unacked"),
            unacked_index_key=transport.get("unacked_index_key", "unacked_index")))
    finally:
        client.close()


@celery.task(name="maintenance.resend_lost", queue_name="maintenance", bind=True, leased=False)
def resend_lost(self: Any) -> dict[str, int]:
    """Beat, when the broker's Redis lost its data: send every job still PENDING again."""
    from app.db import get_engine
    from app.platform.lost_messages import resend_pending

    def publish(job_id: str, name: str, args: list[Any], kwargs: dict[str, Any], queue: str | None,
                priority: int | None) -> None:
        celery.send_task(name, args=args, kwargs=kwargs, task_id=job_id, queue=queue, priority=priority)

    return resend_pending(get_engine(), publish)


@celery.task(name="maintenance.prune_jobs", queue_name="maintenance", bind=True, leased=False)
def prune_jobs(self: Any) -> dict[str, int]:
    """Delete finished job records older than the configured retention."""
    settings = get_settings()
    return prune_jobs_now(
        succeeded_days=settings.jobs_retention_days,
        failed_days=settings.jobs_failed_retention_days,
    )


@celery.task(name="maintenance.fail", queue_name="maintenance")
def fail(message: str = "drill") -> None:
    """Always fails: a drill for alerting, the failed-jobs list and retry buttons."""
    raise DrillFailure(message)


@celery.task(name="maintenance.flaky", queue_name="maintenance", bind=True, max_retries=5)
def flaky(self: Any, fail_attempts: NonNegativeInt = 1, steps: NonNegativeInt = 4) -> dict[str, int]:
    """A drill: reports progress in `steps`, fails the first `fail_attempts` attempts, then succeeds."""
    for step in range(1, steps + 1):
        self.report_progress(100 * step / (steps + 1), step=step, of=steps)
        log.info("attempt %d: step %d of %d", self.request.retries + 1, step, steps)
    if self.request.retries < fail_attempts:
        raise self.retry(exc=DrillFailure(f"attempt {self.request.retries + 1} fails on purpose"), countdown=0)
    return {"attempts": self.request.retries + 1}


@celery.task(name="maintenance.wait", queue_name="maintenance", bind=True, terminable=True)
def wait(self: Any, seconds: Annotated[float, Field(ge=0, le=3600)] = 30) -> dict[str, float]:
    """A drill that runs for a while (progress each second): for cancel and stuck-worker drills.
    It writes nothing, so the dashboard may terminate it (terminable=True)."""
    import time

    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        self.report_progress(100 * (1 - left / seconds) if seconds else 100, left=round(left))
        time.sleep(min(1.0, left))  # a drill's own pacing, not synchronisation
    return {"seconds": seconds}
