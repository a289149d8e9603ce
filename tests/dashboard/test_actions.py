"""Actions without HTTP against real PostgreSQL and Redis; no worker consumes, so sent jobs wait in Redis."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.dashboard import actions, cleanup, waiting_messages
from app.dashboard.actions import ActionError
from app.dashboard.models import Resend
from app.db import get_engine
from app.platform.jobs import queries
from tests.dashboard.fixtures import idle_maintenance  # noqa: F401 - a fixture
from tests.dashboard.rows import ago, job_row
from tests.support import wait_until


def waiting(client, queue="maintenance"):
    return waiting_messages.read_page(client, queue, 0, 100)[0]


def test_add_job_sends_a_registered_task_with_json_arguments(idle_maintenance):
    job_id = actions.add_job("maintenance.flaky", "[]", '{"fail_attempts": 0, "steps": 2}', priority=6, by="ops")
    [message] = waiting(idle_maintenance)
    assert (message.id, message.task, message.args, message.kwargs, message.priority) == \
        (job_id, "maintenance.flaky", [], {"fail_attempts": 0, "steps": 2}, 6)
    wait_until(lambda: queries.get_job(job_id), message="the job to be recorded")

    delayed = actions.add_job("maintenance.fail", '["later"]', "", countdown=3600)
    assert {m.id: m.eta is not None for m in waiting(idle_maintenance)} == {job_id: False, delayed: True}


@pytest.mark.parametrize("task, args, kwargs, error", [
    ("nope.task", "[]", "{}", "unknown task 'nope.task': not a task of this app"),
    ("celery.backend_cleanup", "[]", "{}", "unknown task 'celery.backend_cleanup'"),
    ("maintenance.fail", "[1,", "{}", "args: not valid JSON"),
    ("maintenance.fail", '{"a": 1}', "{}", "args: must be a JSON array"),
    ("maintenance.fail", "[]", "[1]", "kwargs: must be a JSON object"),
    ("maintenance.fail", '["a", "b"]', "{}", "maintenance.fail: arguments do not match its signature"),
    ("maintenance.flaky", "[]", '{"nope": 1}', "unexpected keyword argument 'nope'"),
])
def test_add_job_refuses_bad_input_with_a_clear_error(idle_maintenance, task, args, kwargs, error):
    with pytest.raises(ActionError, match=error.replace("(", r"\(").replace("[", r"\[")):
        actions.add_job(task, args, kwargs)
    assert waiting(idle_maintenance) == []


def test_retry_resends_a_failed_job_once_with_its_arguments_and_attempts(idle_maintenance):
    failed = job_row(name="maintenance.flaky", args=[], kwargs={"fail_attempts": 6}, attempts=6, priority=3)
    new_id = actions.retry_job(failed, by="ops")

    [message] = waiting(idle_maintenance)
    assert (message.id, message.task, message.kwargs, message.priority, message.retries) == \
        (new_id, "maintenance.flaky", {"fail_attempts": 6}, 3, 6)
    with get_engine().connect() as conn:
        link = conn.execute(select(Resend.__table__)).mappings().one()
    assert (link["job_id"], link["original_id"], link["reason"], link["requested_by"]) == (new_id, failed, "retry", "ops")

    with pytest.raises(ActionError, match=f"already retried as {new_id}"):
        actions.retry_job(failed)
    with pytest.raises(ActionError, match="is SUCCESS: only failed or revoked jobs can be retried"):
        actions.retry_job(job_row(state="SUCCESS"))
    with pytest.raises(ActionError, match="stored truncated"):
        actions.retry_job(job_row(args={"truncated": True, "bytes": 99999, "preview": "[..."}))
    with pytest.raises(ActionError, match="no job 'missing'"):
        actions.retry_job("missing")
    assert len(waiting(idle_maintenance)) == 1


def test_retry_all_failed_sends_each_not_yet_retried_failure_of_the_queue_once(idle_maintenance):
    failures = [job_row(args=[f"f{i}"], updated_at=ago(minutes=i)) for i in range(5)]
    actions.retry_job(failures[0])
    job_row(queue="events", name="canary.events", args=[])  # another queue
    job_row(state="SUCCESS")

    assert actions.retry_failed("maintenance", by="ops", batch=2) == 4
    assert sorted(m.args[0] for m in waiting(idle_maintenance)) == ["f0", "f1", "f2", "f3", "f4"]
    assert actions.retry_failed("maintenance") == 0  # nothing left to retry: a second click sends nothing
    assert waiting(idle_maintenance, "events") == []
    with pytest.raises(ValueError, match="unknown queue 'nope'"):
        actions.retry_failed("nope")


def test_run_now_replaces_a_delayed_job_waiting_in_redis(idle_maintenance):
    delayed = actions.add_job("maintenance.fail", '["later"]', countdown=3600)
    wait_until(lambda: (queries.get_job(delayed) or {}).get("eta"), message="the ETA to be recorded")

    new_id = actions.run_now(delayed, redis_client=idle_maintenance, by="ops")

    [message] = waiting(idle_maintenance)  # the delayed message is gone, the replacement has no ETA
    assert (message.id, message.args, message.eta) == (new_id, ["later"], None)
    old = queries.get_job(delayed)
    assert old["state"] == "REVOKED" and old["error"] == f"run now as {new_id} by ops"
    with pytest.raises(ActionError, match="not waiting for its ETA"):
        actions.run_now(job_row(state="FAILURE"), redis_client=idle_maintenance)


def test_clean_deletes_old_finished_records_of_one_queue_in_batches(idle_maintenance):
    old_done = [job_row(state="SUCCESS", updated_at=ago(days=3)) for _ in range(7)]
    recent_done = job_row(state="SUCCESS", updated_at=ago(hours=1))
    old_failed = job_row(state="FAILURE", updated_at=ago(days=3))
    other_queue = job_row(state="SUCCESS", queue="events", updated_at=ago(days=3))

    assert cleanup.count_cleanable("maintenance", "completed", 86400) == 7
    assert cleanup.clean_jobs("maintenance", "completed", 86400, by="ops", batch=3) == 7
    assert all(queries.get_job(i) is None for i in old_done)
    assert all(queries.get_job(i) for i in (recent_done, old_failed, other_queue))
    assert cleanup.clean_jobs("maintenance", "failed", 86400) == 1
    with pytest.raises(ActionError, match="'running' is not one of completed, failed"):
        cleanup.clean_jobs("maintenance", "running", 0)


def test_purge_deletes_every_priority_list_and_marks_the_jobs_revoked(idle_maintenance, worker_pools):
    worker_pools.stop("events")  # the other queue's message must stay waiting too (earlier suites start every pool)
    ids = [actions.add_job("maintenance.fail", json.dumps([str(p)]), priority=p) for p in (0, 3, 6, 9)]
    wait_until(lambda: all(queries.get_job(i) for i in ids), message="the jobs to be recorded")
    idle_maintenance.lpush("maintenance", b"not json at all")
    actions.add_job("canary.events")

    assert cleanup.purge_queue("maintenance", redis_client=idle_maintenance, by="ops") == 5
    assert waiting(idle_maintenance) == [] and len(waiting(idle_maintenance, "events")) == 1
    assert {queries.get_job(i)["state"] for i in ids} == {"REVOKED"}
    assert queries.get_job(ids[0])["error"] == "purged from the queue by ops"


def test_remove_takes_a_waiting_job_out_of_its_queue_and_the_history(idle_maintenance):
    waiting_id = actions.add_job("maintenance.fail", '["later"]')
    wait_until(lambda: queries.get_job(waiting_id), message="the job to be recorded")
    assert [m.id for m in waiting(idle_maintenance)] == [waiting_id]
    assert actions.remove_job(waiting_id, redis_client=idle_maintenance, by="ops") == \
        "taken out of its queue and removed"
    assert waiting(idle_maintenance) == [] and queries.get_job(waiting_id) is None
    failed = job_row()
    assert actions.remove_job(failed, redis_client=idle_maintenance) == "removed"
    assert queries.get_job(failed) is None
    with pytest.raises(ActionError, match="a running job is cancelled, not removed"):
        actions.remove_job(job_row(state="STARTED"), redis_client=idle_maintenance)
    with pytest.raises(ActionError, match="only a running job is cancelled"):
        actions.cancel_job(job_row(state="FAILURE"))


def test_cancel_terminates_only_tasks_that_allow_it(db, redis_client, worker_pools, celery_app):
    worker_pools.start("maintenance")
    drill = celery_app.send_task("maintenance.wait", kwargs={"seconds": 120}).id
    wait_until(lambda: (queries.get_job(drill) or {}).get("state") == "STARTED", timeout=60,
               message="the drill to start")
    assert actions.cancel_job(drill, by="ops") == "stopped: its process was told to end"
    job = wait_until(lambda: (j := queries.get_job(drill)) and j["state"] == "REVOKED" and j, timeout=60,
                     message="the drill to be terminated")
    assert job["error"] == "terminated"
    assert not actions.stops_at_once(celery_app.tasks["farcaster.backfill_fid"])  # writes as it goes


def test_retry_with_edited_arguments_is_recorded_as_such(idle_maintenance):
    failed = job_row(name="maintenance.flaky", args=[], kwargs={"fail_attempts": 6}, attempts=6, priority=6)
    with pytest.raises(ActionError, match="kwargs: must be a JSON object"):
        actions.retry_with_arguments(failed, "[]", "[1]")
    with pytest.raises(ActionError, match="arguments do not match its signature"):
        actions.retry_with_arguments(failed, "[]", '{"nope": 1}')
    assert waiting(idle_maintenance) == []
    new_id = actions.retry_with_arguments(failed, "[]", '{"fail_attempts": 0}', by="ops")
    [message] = waiting(idle_maintenance)
    assert (message.id, message.kwargs, message.priority, message.retries) == (new_id, {"fail_attempts": 0}, 6, 6)
    with get_engine().connect() as conn:
        link = conn.execute(select(Resend.__table__)).mappings().one()
    assert (link["job_id"], link["original_id"], link["reason"]) == (new_id, failed, "retry_edited")
    with pytest.raises(ActionError, match=f"already retried as {new_id}"):
        actions.retry_with_arguments(failed, "[]", "{}")
