"""Job records through success, failure, retry and rejection, written by real workers."""
from __future__ import annotations

import logging

from app.platform.jobs import queries
from tests.support import wait_until


def wait_final(job_id: str, timeout: float = 30) -> dict:
    return wait_until(
        lambda: (job := queries.get_job(job_id)) and job["state"] in ("SUCCESS", "FAILURE", "REJECTED") and job,
        timeout=timeout, message=f"job {job_id} to finish",
    )


def test_canary_of_each_queue_runs_on_that_pool(db, redis_client, worker_pools, celery_app):
    from workers.pools import POOLS

    workers = worker_pools.start(*[p.name for p in POOLS])
    sent = {p.name: celery_app.send_task(f"canary.{p.queues[0]}") for p in POOLS}
    for pool, result in sent.items():
        job = wait_final(result.id)
        assert job["state"] == "SUCCESS"
        assert job["queue"] == pool
        assert job["worker"] == workers[pool].nodename
        assert job["attempts"] == 1
        assert job["finished_at"] >= job["started_at"] >= job["created_at"]


def test_failure_is_recorded_with_traceback(db, redis_client, worker_pools, celery_app):
    worker_pools.start("maintenance")
    result = celery_app.send_task("maintenance.fail", args=["boom"])
    job = wait_final(result.id)
    assert job["state"] == "FAILURE"
    assert job["error"] == "DrillFailure: boom"
    assert "raise DrillFailure(message)" in job["traceback"]
    assert job["args"] == ["boom"]
    assert job["attempts"] == 1


def test_retries_count_attempts_and_progress_reaches_100(db, redis_client, worker_pools, celery_app):
    worker_pools.start("maintenance")
    result = celery_app.send_task("maintenance.flaky", kwargs={"fail_attempts": 2, "steps": 3})
    job = wait_final(result.id)
    assert job["state"] == "SUCCESS"
    assert job["attempts"] == 3
    assert job["result"] == {"attempts": 3}
    assert job["progress"] == 100
    assert job["error"] is None and job["traceback"] is None
    assert job["kwargs"] == {"fail_attempts": 2, "steps": 3}


def test_bad_arguments_fail_with_a_clear_error(db, redis_client, worker_pools, celery_app):
    worker_pools.start("maintenance")
    job = wait_final(celery_app.send_task("maintenance.flaky", kwargs={"fail_attempts": "x"}).id)
    assert job["state"] == "FAILURE"
    assert job["error"] == ("InvalidTaskArguments: invalid arguments for maintenance.flaky: "
                            "fail_attempts: Input should be a valid integer, got 'x'")
    assert job["attempts"] == 1


def test_pickled_message_is_rejected_logged_and_the_worker_carries_on(
        db, redis_client, worker_pools, celery_app):
    worker = worker_pools.start("maintenance")["maintenance"]
    pickled = celery_app.send_task("canary.maintenance", serializer="pickle")
    job = wait_final(pickled.id)
    assert job["state"] == "REJECTED"
    assert "ContentDisallowed" in job["error"] and "pickle" in job["error"]
    wait_until(lambda: "Received invalid task message" in worker.log(), timeout=10, message="the decode error log line")
    # Nothing crashed: the same worker still executes the next (JSON) task.
    assert wait_final(celery_app.send_task("canary.maintenance").id)["state"] == "SUCCESS"
    assert worker.process.poll() is None
    logging.getLogger(__name__).info("pickled message %s rejected as expected", pickled.id)


def attempt_rows(job_id: str) -> list[dict]:
    from sqlalchemy import select

    from app.db import get_engine
    from app.platform.jobs.models import JobAttempt

    table = JobAttempt.__table__
    with get_engine().connect() as conn:
        return [dict(r) for r in conn.execute(select(table).where(table.c.job_id == job_id)
                                               .order_by(table.c.attempt)).mappings()]


def test_priority_is_recorded_at_publish_and_kept_by_retries(db, redis_client, worker_pools, celery_app):
    worker_pools.start("maintenance")
    highest = celery_app.send_task("maintenance.flaky", kwargs={"fail_attempts": 0, "steps": 0}, priority=0)
    retried = celery_app.send_task("maintenance.flaky", kwargs={"fail_attempts": 2, "steps": 0}, priority=6)
    default = celery_app.send_task("maintenance.flaky", kwargs={"fail_attempts": 0, "steps": 0})
    assert wait_final(highest.id)["priority"] == 0
    job = wait_final(retried.id)
    assert (job["state"], job["attempts"], job["priority"]) == ("SUCCESS", 3, 6)
    # Without a priority kombu's Redis transport delivers from the first list: the worker records 0.
    assert wait_final(default.id)["priority"] == 0


def test_every_attempt_is_kept_with_its_worker_outcome_and_error(db, redis_client, worker_pools, celery_app):
    workers = worker_pools.start("maintenance")
    job = wait_final(celery_app.send_task("maintenance.flaky", kwargs={"fail_attempts": 2, "steps": 0}).id)
    rows = attempt_rows(job["id"])
    assert [(r["attempt"], r["state"]) for r in rows] == [(1, "RETRY"), (2, "RETRY"), (3, "SUCCESS")]
    assert "attempt 1 fails on purpose" in rows[0]["error"] and "attempt 2 fails on purpose" in rows[1]["error"]
    assert rows[2]["error"] is None
    assert all(r["worker"] == workers["maintenance"].nodename for r in rows)
    assert all(r["finished_at"] >= r["started_at"] for r in rows)


def test_a_dashboard_retry_continues_the_attempt_count(db, redis_client, worker_pools, celery_app):
    from app.dashboard import actions

    worker_pools.start("maintenance")
    failed = wait_final(celery_app.send_task("maintenance.flaky", kwargs={"fail_attempts": 9, "steps": 0}).id)
    assert (failed["state"], failed["attempts"]) == ("FAILURE", 6)  # max_retries=5: six attempts
    again = wait_final(actions.retry_job(failed["id"], by="ops"))
    # The count goes on (7), and the task's own retry limit sees the attempts before: it fails at once.
    assert (again["state"], again["attempts"]) == ("FAILURE", 7)
    assert [r["attempt"] for r in attempt_rows(again["id"])] == [7]


def test_what_a_task_logs_while_it_runs_is_kept_with_each_attempt(db, redis_client, worker_pools, celery_app):
    from sqlalchemy import select

    from app.db import get_engine
    from app.platform.jobs.models import JobLogLine

    worker_pools.start("maintenance")
    job = wait_final(celery_app.send_task("maintenance.flaky", kwargs={"fail_attempts": 1, "steps": 2}).id)
    table = JobLogLine.__table__

    def lines() -> list[tuple[int, str]]:
        with get_engine().connect() as conn:
            return [(r.attempt, r.message) for r in conn.execute(
                select(table).where(table.c.job_id == job["id"]).order_by(table.c.attempt, table.c.seq))]

    # The last attempt's lines are written as it ends, a moment after its success is recorded.
    got = wait_until(lambda: len(lines()) >= 4 and lines(), message="the attempts' log lines")
    assert got == [(1, "attempt 1: step 1 of 2"), (1, "attempt 1: step 2 of 2"),
                   (2, "attempt 2: step 1 of 2"), (2, "attempt 2: step 2 of 2")]
