"""Write job lifecycle transitions to the `jobs` table. Plain functions, no Celery.

Every call is one statement in its own short transaction. Transitions are
upserts because at-least-once delivery and racing processes mean any of them
may arrive first (a worker can start a task before its publisher recorded it).
"""
from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import func, text
from sqlalchemy.dialects.postgresql import insert

from app.db import get_engine
from app.platform.jobs.models import Job, JobState

log = logging.getLogger(__name__)

jobs = Job.__table__


def _json_text(value: Any, max_bytes: int) -> str:
    """JSON text of value if within max_bytes, else of a small, readable stand-in (encoded once)."""
    try:
        encoded = json.dumps(value, default=repr)
    except (TypeError, ValueError):
        return json.dumps({"unserializable": repr(value)[: max_bytes // 2]})
    if len(encoded) > max_bytes:
        return json.dumps({"truncated": True, "bytes": len(encoded), "preview": encoded[: max_bytes // 2]})
    return encoded


def _max_bytes() -> int:
    from app.settings import get_settings

    return get_settings().jobs_result_max_bytes


def _run(statement: Any, params: dict[str, Any] | list[dict[str, Any]]) -> Any:
    with get_engine().begin() as conn:
        return conn.execute(statement, params)


# Statements are built once: they run two or three times per task, and building, hashing and
# compiling a fresh SQLAlchemy construct each time cost more client CPU than the write itself.
_PUBLISHED = text("""
    INSERT INTO jobs (id, name, queue, state, args, kwargs, priority, parent_id, root_id, eta)
    VALUES (:id, :name, :queue, 'PENDING', CAST(:args AS jsonb), CAST(:kwargs AS jsonb), :priority,
            :parent_id, :root_id, :eta)
    ON CONFLICT (id) DO UPDATE SET eta = EXCLUDED.eta, updated_at = now(),
        -- a worker may have started it first (it records the delivery's priority then)
        priority = COALESCE(jobs.priority, EXCLUDED.priority)
""")
# :retries is the message's retry count: a job sent again from the dashboard carries its
# original's attempts there, so its count goes on instead of restarting at 1.
_STARTED = text("""
    WITH job AS (
        INSERT INTO jobs (id, name, queue, state, worker, args, kwargs, priority, parent_id, root_id, attempts,
                          started_at)
        VALUES (:id, :name, :queue, 'STARTED', :worker, CAST(:args AS jsonb), CAST(:kwargs AS jsonb),
                CAST(:priority AS smallint), :parent_id, :root_id, CAST(:retries AS integer) + 1, now())
        ON CONFLICT (id) DO UPDATE SET state = 'STARTED', worker = EXCLUDED.worker,
            queue = COALESCE(jobs.queue, EXCLUDED.queue), priority = COALESCE(jobs.priority, EXCLUDED.priority),
            -- counts executions, redeliveries included
            attempts = GREATEST(jobs.attempts + 1, CAST(:retries AS integer) + 1),
            started_at = now(), finished_at = NULL, updated_at = now()
        RETURNING attempts
    ), attempt AS (
        INSERT INTO job_attempts (job_id, attempt, worker, state, started_at)
        SELECT :id, attempts, :worker, 'STARTED', now() FROM job
        ON CONFLICT (job_id, attempt) DO NOTHING
    )
    SELECT attempts FROM job
""")
# A retry is published before the attempt that raised it is recorded, so the next attempt can
# start (even finish) first; the stale attempt's late update must not overwrite it. attempt NULL
# (failures seen by the parent process, such as hard time limits) applies unconditionally.
_THIS_ATTEMPT = "id = :id AND (CAST(:attempt AS integer) IS NULL OR attempts = :attempt)"
# The attempt's own row ends too: the one named, or (attempt NULL) the job's latest.
_END_ATTEMPT = """
    UPDATE job_attempts SET state = :state, error = :error, finished_at = now()
    WHERE job_id = :id AND finished_at IS NULL
      AND attempt = COALESCE(CAST(:attempt AS integer), (SELECT attempts FROM jobs WHERE id = :id))
"""
_SUCCEEDED = text(f"""
    WITH ended AS ({_END_ATTEMPT})
    UPDATE jobs SET state = 'SUCCESS', result = CAST(:result AS jsonb), error = NULL, traceback = NULL,
        progress = CASE WHEN progress IS NULL THEN NULL ELSE 100 END,  -- reporters end at 100
        finished_at = now(), updated_at = now()
    WHERE {_THIS_ATTEMPT}
""")
_FAILED = text(f"""
    WITH ended AS ({_END_ATTEMPT})
    UPDATE jobs SET state = :state, error = :error, traceback = :traceback,
        finished_at = CASE WHEN :final THEN now() END, updated_at = now()
    WHERE {_THIS_ATTEMPT}
""")
_PROGRESS = text("""
    UPDATE jobs SET progress = COALESCE(CAST(:progress AS smallint), progress),
        progress_info = COALESCE(CAST(:info AS jsonb), progress_info), updated_at = now()
    WHERE id = :id
""")


def record_published(
    *,
    job_id: str,
    name: str,
    queue: str | None,
    args: Any,
    kwargs: Any,
    priority: int | None = None,
    parent_id: str | None = None,
    root_id: str | None = None,
    eta: datetime | None = None,
) -> None:
    """A message was sent. Never overwrites a later state (retries republish the same id: only the ETA moves)."""
    limit = _max_bytes()
    _run(_PUBLISHED, {"id": job_id, "name": name, "queue": queue, "args": _json_text(args, limit),
                      "kwargs": _json_text(kwargs, limit), "priority": priority, "parent_id": parent_id,
                      "root_id": root_id, "eta": eta})


def record_started(
    *,
    job_id: str,
    name: str,
    queue: str | None,
    worker: str | None,
    args: Any,
    kwargs: Any,
    parent_id: str | None = None,
    root_id: str | None = None,
    retries: int = 0,
    priority: int | None = None,
) -> int:
    """Record an execution starting; returns its attempt number (1 for a first execution)."""
    limit = _max_bytes()
    return int(_run(_STARTED, {"id": job_id, "name": name, "queue": queue, "worker": worker,
                               "args": _json_text(args, limit), "kwargs": _json_text(kwargs, limit),
                               "parent_id": parent_id, "root_id": root_id,
                               "retries": max(0, int(retries or 0)), "priority": priority}).scalar_one())


def record_progress(job_id: str, percent: int | None, info: dict[str, Any] | None) -> None:
    _run(_PROGRESS, {"id": job_id, "progress": None if percent is None else max(0, min(100, int(percent))),
                     "info": None if info is None else _json_text(info, _max_bytes())})


def record_succeeded(job_id: str, result: Any, attempt: int | None = None) -> None:
    _run(_SUCCEEDED, {"id": job_id, "attempt": attempt, "result": _json_text(result, _max_bytes()),
                      "state": JobState.SUCCESS, "error": None})


def record_failed(job_id: str, state: str, error: str, traceback: str | None,
                  attempt: int | None = None) -> None:
    """FAILURE (final), RETRY (another attempt is scheduled) or REVOKED."""
    _run(_FAILED, {"id": job_id, "attempt": attempt, "state": state, "error": error[:10000],
                   "traceback": traceback[-20000:] if traceback else None, "final": state in JobState.FINAL})


def record_rejected(*, job_id: str, name: str, queue: str | None, error: str) -> None:
    """A worker refused the message (undecodable, disallowed content type, unknown task)."""
    stmt = insert(jobs).values(
        id=job_id, name=name, queue=queue, state=JobState.REJECTED, error=error[:10000],
        finished_at=func.now(),
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[jobs.c.id],
        set_={"state": JobState.REJECTED, "error": stmt.excluded.error,
              "finished_at": func.now(), "updated_at": func.now()},
    )
    with get_engine().begin() as conn:
        conn.execute(stmt)


_LOGS = text("""
    INSERT INTO job_logs (job_id, attempt, seq, logged_at, level, logger, message)
    SELECT CAST(:id AS varchar), COALESCE(CAST(:attempt AS integer),
                                          (SELECT attempts FROM jobs WHERE id = CAST(:id AS varchar)), 0), :seq,
           :logged_at, :level, :logger, :message
    ON CONFLICT (job_id, attempt, seq) DO NOTHING
""")


def record_logs(job_id: str, attempt: int | None, lines: list[dict[str, Any]]) -> None:
    """One attempt's log lines (a redelivered attempt's repeat is ignored)."""
    if lines:
        _run(_LOGS, [{"id": job_id, "attempt": attempt, "seq": i, **line} for i, line in enumerate(lines)])
