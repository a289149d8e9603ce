"""Job records through success, failure and retry, written by real workers."""
from __future__ import annotations

from app.jobs import queries
from tests.support import wait_until


def _final(job_id: str, timeout: float = 30):
    return wait_until(
        lambda: (job := queries.get_job(job_id)) and job["state"] in ("SUCCESS", "FAILURE", "REJECTED") and job,
        timeout=timeout, message=f"job {job_id} to finish",
    )


def test_canary_of_each_queue_runs_on_that_pool(db, redis_client, worker_pools, celery_app):
    from workers.pools import POOLS

    workers = worker_pools.start(*[p.name for p in POOLS])
    sent = {p.name: celery_app.send_task(f"canary.{p.queues[0]}") for p in POOLS}
    for pool, result in sent.items():
        job = _final(result.id)
        assert job["state"] == "SUCCESS"
        assert job["queue"] == pool
        assert job["worker"] == workers[pool].nodename
        assert job["attempts"] == 1
        assert job["finished_at"] >= job["started_at"]


def test_failure_is_recorded_with_traceback(db, redis_client, worker_pools, celery_app):
    worker_pools.start("maintenance")
    result = celery_app.send_task("maintenance.fail", args=["boom"])
    job = _final(result.id)
    assert job["state"] == "FAILURE"
    assert job["error"] == "DrillFailure: boom"
    assert "raise DrillFailure(message)" in job["traceback"]
    assert job["args"] == ["boom"]
