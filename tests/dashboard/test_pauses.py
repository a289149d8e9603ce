"""Pausing a queue with real workers: running ones stop consuming, ones started later honour it,
resume brings back only the pool that owns the queue."""
from __future__ import annotations

from app.platform.celery_app import celery
from app.platform import pauses
from app.platform.jobs import queries
from tests.support import wait_until


def consumed_queues(worker) -> set[str]:
    replies = celery.control.inspect(destination=[worker.nodename], timeout=2).active_queues() or {}
    return {q["name"] for q in replies.get(worker.nodename, [])}


def send_canary() -> str:
    return celery.send_task("canary.maintenance").id


def test_a_worker_started_after_the_pause_leaves_new_jobs_waiting_until_resume(db, redis_client, worker_pools):
    worker_pools.stop("maintenance")
    pauses.pause("maintenance", by="ops")
    try:
        worker = worker_pools.start("maintenance")["maintenance"]
        assert consumed_queues(worker) == set()  # it read the pause when it became ready
        assert "queue maintenance is paused (by ops" in worker.log()

        job = send_canary()
        wait_until(lambda: queries.get_job(job), message="the job to be recorded")
        assert redis_client.llen("maintenance") == 1 and queries.get_job(job)["state"] == "PENDING"
    finally:
        outcome = pauses.resume("maintenance")
    assert outcome.changed == (worker.nodename,)
    wait_until(lambda: queries.get_job(job)["state"] == "SUCCESS", message="the waiting job to run after resume")
    assert consumed_queues(worker) == {"maintenance"}
    assert pauses.paused_queues() == {}


def test_pause_stops_running_workers_and_resume_restarts_only_the_owning_pool(db, redis_client, worker_pools):
    workers = worker_pools.start("maintenance", "events")
    try:
        outcome = pauses.pause("maintenance", by="ops")
        assert {workers["maintenance"].nodename, workers["events"].nodename} <= set(outcome.changed)
        wait_until(lambda: consumed_queues(workers["maintenance"]) == set(), message="maintenance to stop consuming")
        assert pauses.paused_queues()["maintenance"].paused_by == "ops"
        job = send_canary()
        wait_until(lambda: queries.get_job(job), message="the job to be recorded")
        assert redis_client.llen("maintenance") == 1
    finally:
        outcome = pauses.resume("maintenance")
    assert outcome.changed == (workers["maintenance"].nodename,)  # not the events pool
    wait_until(lambda: queries.get_job(job)["state"] == "SUCCESS", message="the waiting job to run after resume")
    assert consumed_queues(workers["events"]) == {"events"}
    assert consumed_queues(workers["maintenance"]) == {"maintenance"}
