"""Job history retention: old finished records go, recent and unfinished ones stay."""
from __future__ import annotations

from sqlalchemy import text

from app.db import get_engine
from app.platform.jobs.retention import prune_jobs


def insert(job_id: str, state: str, age_days: float) -> None:
    with get_engine().begin() as conn:
        conn.execute(text(
            "INSERT INTO jobs (id, name, queue, state, updated_at) "
            "VALUES (:id, 't', 'maintenance', :state, now() - make_interval(secs => :age))"),
            {"id": job_id, "state": state, "age": age_days * 86400})


def remaining() -> set[str]:
    with get_engine().connect() as conn:
        return {r[0] for r in conn.execute(text("SELECT id FROM jobs"))}


def test_prune_respects_age_and_state(db):
    insert("old-success", "SUCCESS", 10)
    insert("new-success", "SUCCESS", 1)
    insert("old-failure", "FAILURE", 10)
    insert("ancient-failure", "FAILURE", 40)
    insert("old-pending", "PENDING", 40)
    insert("old-started", "STARTED", 40)
    assert prune_jobs(succeeded_days=7, failed_days=30) == {"succeeded": 1, "failed": 1}
    assert remaining() == {"new-success", "old-failure", "old-pending", "old-started"}


def test_prune_works_in_batches(db, monkeypatch):
    import app.platform.jobs.retention as retention

    monkeypatch.setattr(retention, "_BATCH", 7)
    with get_engine().begin() as conn:
        conn.execute(text(
            "INSERT INTO jobs (id, name, state, updated_at) "
            "SELECT 'j' || g, 't', 'SUCCESS', now() - interval '9 days' FROM generate_series(1, 30) g"))
    assert prune_jobs(succeeded_days=7, failed_days=30)["succeeded"] == 30
    assert remaining() == set()


def test_prune_task_runs_on_the_maintenance_pool(db, redis_client, worker_pools, celery_app):
    from tests.platform.test_job_records import wait_final

    insert("stale", "SUCCESS", 100)
    worker_pools.start("maintenance")
    job = wait_final(celery_app.send_task("maintenance.prune_jobs").id)
    assert job["state"] == "SUCCESS" and job["result"] == {"succeeded": 1, "failed": 0}
    assert "stale" not in remaining()


def test_retention_is_on_the_beat_schedule():
    from app.platform.beat import build_schedule
    from app.settings import get_settings

    assert build_schedule(get_settings())["prune-jobs"]["task"] == "maintenance.prune_jobs"
