"""Read and write `analysis_jobs`. Plain functions, one short transaction each, no Celery.

Writes are guarded so at-least-once delivery cannot corrupt a record: a
completed job is never reopened, and progress never goes backwards.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert

from app.analysis.models import AnalysisJob, AnalysisStatus
from app.analysis.request import AnalysisRequest
from app.db import get_engine
from app.platform import leases

table = AnalysisJob.__table__
MAX_ERROR = 4000


def create(job_id: str, request: AnalysisRequest) -> dict[str, Any]:
    """Record an accepted request (idempotent: an existing record is returned unchanged)."""
    stmt = insert(table).values(
        id=job_id, tool_id=request.tool_id, url=request.url, description=request.description,
        priority=request.priority, status=AnalysisStatus.QUEUED,
    ).on_conflict_do_nothing(index_elements=[table.c.id])
    with get_engine().begin() as conn:
        conn.execute(stmt)
        return dict(conn.execute(select(table).where(table.c.id == job_id)).mappings().one())


def get(job_id: str) -> dict[str, Any] | None:
    with get_engine().connect() as conn:
        row = conn.execute(select(table).where(table.c.id == job_id)).mappings().first()
    return dict(row) if row else None


def list_recent(*, status: str | None = None, tool_id: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    stmt = select(table).order_by(table.c.created_at.desc(), table.c.id).limit(limit)
    if status:
        stmt = stmt.where(table.c.status == status)
    if tool_id:
        stmt = stmt.where(table.c.tool_id == tool_id)
    with get_engine().connect() as conn:
        return [dict(row) for row in conn.execute(stmt).mappings()]


def counts_by_status() -> dict[str, int]:
    stmt = select(table.c.status, func.count()).group_by(table.c.status)
    with get_engine().connect() as conn:
        counts: dict[str, int] = dict(conn.execute(stmt).all())
    return {status: counts.get(status, 0) for status in AnalysisStatus.ALL}


def start_attempt(job_id: str) -> dict[str, Any] | None:
    """Mark an execution started and count it; None if the job is already final (a redelivery)."""
    stmt = (
        update(table)
        .where(table.c.id == job_id, table.c.status.notin_(AnalysisStatus.FINAL))
        .values(status=AnalysisStatus.RUNNING, attempts=table.c.attempts + 1, step="starting",
                started_at=func.coalesce(table.c.started_at, func.now()), updated_at=func.now())
        .returning(*table.c)
    )
    with get_engine().begin() as conn:
        row = conn.execute(stmt).mappings().first()
    return dict(row) if row else None


def set_progress(job_id: str, percent: int, step: str) -> None:
    stmt = (
        update(table)
        .where(table.c.id == job_id, table.c.status == AnalysisStatus.RUNNING)
        .values(progress=func.greatest(table.c.progress, max(0, min(100, int(percent)))), step=step,
                updated_at=func.now())
    )
    with get_engine().begin() as conn:
        leases.fence(conn)
        conn.execute(stmt)


def mark_retrying(job_id: str, error: str) -> None:
    _finish_attempt(job_id, status=AnalysisStatus.RETRYING, error=error, step="waiting to retry")


def mark_completed(job_id: str, result: dict[str, Any]) -> None:
    _finish_attempt(job_id, status=AnalysisStatus.COMPLETED, result=result, error=None, progress=100,
                    step="done", finished_at=func.now())


def mark_failed(job_id: str, error: str) -> None:
    _finish_attempt(job_id, status=AnalysisStatus.FAILED, error=error, step="failed", finished_at=func.now())


def _finish_attempt(job_id: str, **values: Any) -> None:
    if values.get("error"):
        values["error"] = values["error"][:MAX_ERROR]
    # A completed job stays completed: a late duplicate cannot overwrite its result with a failure.
    stmt = (
        update(table)
        .where(table.c.id == job_id, table.c.status != AnalysisStatus.COMPLETED)
        .values(updated_at=func.now(), **values)
    )
    with get_engine().begin() as conn:
        leases.fence(conn)  # a worker whose lease was taken over cannot finish the job
        conn.execute(stmt)
