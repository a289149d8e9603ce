"""The task wrapper (app/platform/task.py): a worker's task runs under its lease; a duplicate of work a
live process holds is skipped; a task whose lease was taken over stops at its next write."""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from app.platform.celery_app import celery
from app.db import get_engine
from app.platform import leases
from tests.platform.lease_helpers import expire_owner, take

ran: list[Any] = []


@celery.task(name="test.leased_write", queue_name="maintenance", bind=True, lease_key="{item}")
def leased_write(self: Any, item: int, take_over_first: bool = False) -> dict[str, Any]:
    held = leases.current.get()
    ran.append(held)
    if take_over_first:  # the sweep takes the lease over while this (slow) worker still runs
        expire_owner(get_engine(), held.owner)
        with get_engine().begin() as conn:
            leases.take_over_expired(conn)
    with get_engine().begin() as conn:
        leases.fence(conn)
        conn.execute(text("INSERT INTO lease_owners (owner, hostname, pid, expires_at) "
                          "VALUES (:o, 'written', 0, now())"), {"o": f"written-{item}"})
    return {"item": item}


@celery.task(name="test.leased_retry", queue_name="maintenance", bind=True, lease_key="{item}", max_retries=3)
def leased_retry(self: Any, item: int) -> None:
    raise self.retry(countdown=60)


@pytest.fixture
def engine(db):
    ran.clear()
    yield get_engine()
    from app.platform import lease_worker

    lease_worker.stop_process_heartbeat()


def run_as_worker(task: Any, *args: Any, **kwargs: Any) -> Any:
    """Call the task as a worker's tracer does: with a delivered message's request."""
    task.push_request(id="task-1", hostname="maintenance@test-host", called_directly=False, is_eager=False,
                      delivery_info={"routing_key": "maintenance", "priority": None},
                      properties={"delivery_tag": "tag-1"})
    try:
        return task(*args, **kwargs)
    finally:
        task.pop_request()


def lease_row(engine, key: str, kind: str = "test.leased_write"):
    with engine.connect() as conn:
        return conn.execute(text("SELECT * FROM leases WHERE kind = :kind AND key = :k"),
                            {"kind": kind, "k": key}).mappings().first()


def written(engine, item: int) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(text("SELECT count(*) FROM lease_owners WHERE owner = :o"),
                                 {"o": f"written-{item}"}).scalar())


def test_a_task_runs_under_its_lease_and_releases_it(engine):
    assert run_as_worker(leased_write, 5) == {"item": 5}
    assert ran[0].key == "5" and ran[0].owner.startswith("maintenance@test-host:")
    row = lease_row(engine, "5")
    assert (row["state"], row["epoch"], row["task_id"], row["delivery_tag"], row["args"], row["kwargs"]) == \
        ("released", 1, "task-1", "tag-1", [5], {})
    assert written(engine, 5)


def test_a_duplicate_of_work_a_live_worker_holds_is_skipped(engine):
    take(engine, "test.leased_write", "6", owner="maintenance@other-host:77")
    assert run_as_worker(leased_write, 6) == {"skipped": "running elsewhere (lease held by a live worker)"}
    assert ran == [] and not written(engine, 6)
    assert lease_row(engine, "6")["owner"] == "maintenance@other-host:77"


def test_a_task_whose_lease_was_taken_over_stops_without_writing(engine):
    result = run_as_worker(leased_write, 7, take_over_first=True)
    assert "fenced" in result and "stale" in result["fenced"]
    assert not written(engine, 7)
    row = lease_row(engine, "7")
    assert (row["state"], row["epoch"]) == ("resent", 2)  # the stale worker's release changed nothing


def test_a_retry_frees_the_lease_before_its_message_is_sent(engine, redis_client):
    from celery import signals
    from celery.exceptions import Retry

    states_at_publish: list[str] = []

    def on_publish(**_: Any) -> None:
        states_at_publish.append(lease_row(engine, "8", "test.leased_retry")["state"])

    signals.before_task_publish.connect(on_publish, weak=False)
    try:
        with pytest.raises(Retry):
            run_as_worker(leased_retry, 8)
    finally:
        signals.before_task_publish.disconnect(on_publish)
    assert states_at_publish == ["released"]  # another process may take the retry at once


def test_beat_driven_tasks_hold_no_lease():
    from tasks import canary, farcaster, maintenance  # noqa: F401 - canary registers canary.*

    assert not maintenance.sweep_leases.leased and not farcaster.poll_shard.leased
    assert not celery.tasks["canary.events"].leased
    assert farcaster.backfill_fid.lease_key == "{request_id}:{fid}"
