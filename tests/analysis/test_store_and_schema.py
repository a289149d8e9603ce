"""The analysis_jobs record under at-least-once delivery, and its migration both ways."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, inspect, text

from app.analysis import store
from app.analysis.request import AnalysisRequest
from app.db import get_engine

REQUEST = AnalysisRequest(tool_id="tool", url="https://example.com/", priority="low")


def test_create_is_idempotent_and_keeps_the_first_request(db):
    job_id = str(uuid.uuid4())
    first = store.create(job_id, REQUEST)
    again = store.create(job_id, AnalysisRequest(tool_id="other", description="d", priority="high"))
    assert again == first
    assert (first["tool_id"], first["priority"], first["status"], first["attempts"]) == ("tool", "low", "queued", 0)


def test_attempts_progress_and_final_states_survive_redelivery(db):
    job_id = str(uuid.uuid4())
    store.create(job_id, REQUEST)
    assert store.start_attempt(job_id)["attempts"] == 1
    store.set_progress(job_id, 50, "extract")
    store.mark_retrying(job_id, "attempt 1 of 3 failed")
    assert store.start_attempt(job_id)["attempts"] == 2
    store.set_progress(job_id, 10, "fetch")  # a new attempt restarts its steps; progress never goes back
    assert (store.get(job_id)["progress"], store.get(job_id)["step"]) == (50, "fetch")
    store.mark_completed(job_id, {"analysis": {"maturityScore": 0.5}})
    assert store.start_attempt(job_id) is None  # a redelivered message finds the job done
    store.mark_failed(job_id, "a late duplicate failed")  # ... and cannot overwrite its result
    done = store.get(job_id)
    assert (done["status"], done["progress"], done["attempts"], done["error"]) == ("completed", 100, 2, None)
    assert done["result"] == {"analysis": {"maturityScore": 0.5}}
    assert done["finished_at"] >= done["started_at"] >= done["created_at"]


def test_progress_is_only_written_while_running(db):
    job_id = str(uuid.uuid4())
    store.create(job_id, REQUEST)
    store.set_progress(job_id, 40, "fetch")
    assert store.get(job_id)["progress"] == 0


def test_the_table_rejects_impossible_values(db):
    with pytest.raises(Exception, match="ck_analysis_jobs_status"):
        with get_engine().begin() as conn:
            conn.execute(text("INSERT INTO analysis_jobs (id, tool_id, priority, status) "
                              "VALUES ('x', 't', 'low', 'lost')"))


def test_migration_0003_upgrades_and_downgrades(database):
    from app.db.migrate import downgrade, upgrade

    server, name = database.rsplit("/", 1)
    scratch = f"{name}_migration_0003"
    url = f"{server}/{scratch}"
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{scratch}"'))
    try:
        upgrade(url, "0003_analysis")
        engine = create_engine(url)
        assert "analysis_jobs" in inspect(engine).get_table_names()
        downgrade(url, "0001_platform")
        assert "analysis_jobs" not in inspect(engine).get_table_names()
        assert "jobs" in inspect(engine).get_table_names()
        upgrade(url, "0003_analysis")
        assert "analysis_jobs" in inspect(engine).get_table_names()
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
        admin.dispose()
