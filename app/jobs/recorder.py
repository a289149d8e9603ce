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

from sqlalchemy import case, func, update
from sqlalchemy.dialects.postgresql import insert

from app.db import get_engine
from app.jobs.models import Job, JobState

log = logging.getLogger(__name__)

jobs = Job.__table__


def _json_safe(value: Any, max_bytes: int) -> Any:
    """Return value if it is JSON within max_bytes, else a small, readable stand-in."""
    try:
        encoded = json.dumps(value, default=repr)
    except (TypeError, ValueError):
        return {"unserializable": repr(value)[: max_bytes // 2]}
    if len(encoded) > max_bytes:
        return {"truncated": True, "bytes": len(encoded), "preview": encoded[: max_bytes // 2]}
    return json.loads(encoded)


def _max_bytes() -> int:
    from app.settings import get_settings

    return get_settings().jobs_result_max_bytes


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
    """A message was sent. Never overwrites a later state (retries republish the same id)."""
    limit = _max_bytes()
    stmt = insert(jobs).values(
        id=job_id, name=name, queue=queue, state=JobState.PENDING,
        args=_json_safe(args, limit), kwargs=_json_safe(kwargs, limit),
        priority=priority, parent_id=parent_id, root_id=root_id, eta=eta,
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[jobs.c.id],
        # A retry republishes the same id: keep the state, refresh the ETA.
        set_={"eta": stmt.excluded.eta, "updated_at": func.now()},
    )
    with get_engine().begin() as conn:
        conn.execute(stmt)


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
) -> int:
    """Record an execution starting; returns its attempt number (1 for the first execution)."""
    limit = _max_bytes()
    stmt = insert(jobs).values(
        id=job_id, name=name, queue=queue, state=JobState.STARTED, worker=worker,
        args=_json_safe(args, limit), kwargs=_json_safe(kwargs, limit),
        parent_id=parent_id, root_id=root_id, attempts=1,
        started_at=func.now(),
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[jobs.c.id],
        set_={
            "state": JobState.STARTED,
            "worker": worker,
            "queue": func.coalesce(jobs.c.queue, queue),
            "attempts": jobs.c.attempts + 1,  # counts executions, redeliveries included
            "started_at": func.now(),
            "finished_at": None,
            "updated_at": func.now(),
        },
    ).returning(jobs.c.attempts)
    with get_engine().begin() as conn:
        return int(conn.execute(stmt).scalar_one())


def _for_attempt(job_id: str, attempt: int | None):  # noqa: ANN202 - a SQLAlchemy UPDATE
    """An UPDATE of one job that only applies to the given execution.

    A retry is published before the attempt that raised it is recorded, so the
    next attempt can start (even finish) first; the stale attempt's late update
    must not overwrite it. attempt=None (failures seen by the parent process,
    such as hard time limits) applies unconditionally.
    """
    stmt = update(jobs).where(jobs.c.id == job_id)
    if attempt is not None:
        stmt = stmt.where(jobs.c.attempts == attempt)
    return stmt


def record_progress(job_id: str, percent: int | None, info: dict[str, Any] | None) -> None:
    values: dict[str, Any] = {"updated_at": func.now()}
    if percent is not None:
        values["progress"] = max(0, min(100, int(percent)))
    if info is not None:
        values["progress_info"] = _json_safe(info, _max_bytes())
    with get_engine().begin() as conn:
        conn.execute(update(jobs).where(jobs.c.id == job_id).values(**values))


def record_succeeded(job_id: str, result: Any, attempt: int | None = None) -> None:
    with get_engine().begin() as conn:
        conn.execute(
            _for_attempt(job_id, attempt).values(
                state=JobState.SUCCESS,
                result=_json_safe(result, _max_bytes()),
                error=None,
                traceback=None,
                # Tasks that reported progress end at 100; others stay NULL.
                progress=case((jobs.c.progress.is_(None), None), else_=100),
                finished_at=func.now(),
                updated_at=func.now(),
            )
        )


def record_failed(job_id: str, state: str, error: str, traceback: str | None,
                  attempt: int | None = None) -> None:
    """FAILURE (final), RETRY (another attempt is scheduled) or REVOKED."""
    final = state in JobState.FINAL
    with get_engine().begin() as conn:
        conn.execute(
            _for_attempt(job_id, attempt).values(
                state=state,
                error=error[:10000],
                traceback=traceback[-20000:] if traceback else None,
                finished_at=func.now() if final else None,
                updated_at=func.now(),
            )
        )


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
