"""Read the jobs table: counts by queue and state, one job, failed jobs, last canaries."""
from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Select, func, select

from app.db import get_engine
from app.platform.jobs.models import Job, JobState

jobs = Job.__table__


def counts_by_queue_and_state() -> dict[str, dict[str, int]]:
    stmt = select(jobs.c.queue, jobs.c.state, func.count()).group_by(jobs.c.queue, jobs.c.state)
    counts: dict[str, dict[str, int]] = {}
    with get_engine().connect() as conn:
        for queue, state, n in conn.execute(stmt):
            counts.setdefault(queue or "?", {})[state] = n
    return counts


def get_job(job_id: str) -> dict[str, Any] | None:
    with get_engine().connect() as conn:
        row = conn.execute(select(jobs).where(jobs.c.id == job_id)).mappings().first()
    return dict(row) if row else None


MIN_PREFIX = 4
_ID_CHARACTERS = re.compile(r"[0-9A-Za-z-]+")  # Celery's ids are uuids; no LIKE wildcards


class BadJobPrefix(ValueError):
    pass


def ids_with_prefix(prefix: str, limit: int = 10) -> list[dict[str, Any]]:
    """Jobs whose id starts with prefix (what lists show, or a log line), newest first; at most limit."""
    prefix = prefix.strip()
    if len(prefix) < MIN_PREFIX or not _ID_CHARACTERS.fullmatch(prefix):
        raise BadJobPrefix(f"a job id prefix is at least {MIN_PREFIX} characters of 0-9, a-z or '-', "
                           f"got {prefix!r}")
    stmt = (select(jobs.c.id, jobs.c.name, jobs.c.state, jobs.c.updated_at)
            .where(jobs.c.id.like(prefix + "%"))
            .order_by(jobs.c.updated_at.desc()).limit(limit))
    with get_engine().connect() as conn:
        return [dict(row) for row in conn.execute(stmt).mappings()]


def filter_jobs(stmt: Select, *, state: str | None = None, queue: str | None = None,
                name: str | None = None) -> Select:
    """Narrow a jobs SELECT to a state, queue and/or task name (None: any)."""
    for column, value in ((jobs.c.state, state), (jobs.c.queue, queue), (jobs.c.name, name)):
        if value:
            stmt = stmt.where(column == value)
    return stmt


def list_jobs(*, state: str | None = None, queue: str | None = None, name: str | None = None,
              limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    """Newest first (by last change)."""
    stmt = select(jobs).order_by(jobs.c.updated_at.desc(), jobs.c.id).limit(limit).offset(offset)
    stmt = filter_jobs(stmt, state=state, queue=queue, name=name)
    with get_engine().connect() as conn:
        return [dict(row) for row in conn.execute(stmt).mappings()]


def failed_jobs(*, queue: str | None = None, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    return list_jobs(state=JobState.FAILURE, queue=queue, limit=limit, offset=offset)


def children_of(job_id: str) -> list[dict[str, Any]]:
    stmt = select(jobs.c.id, jobs.c.name, jobs.c.state).where(jobs.c.parent_id == job_id) \
        .order_by(jobs.c.created_at)
    with get_engine().connect() as conn:
        return [dict(row) for row in conn.execute(stmt).mappings()]


def last_success_by_name(prefix: str) -> dict[str, Any]:
    """Latest finish time of each task whose name starts with prefix (e.g. the canaries)."""
    stmt = (
        select(jobs.c.name, func.max(jobs.c.finished_at))
        .where(jobs.c.name.startswith(prefix), jobs.c.state == JobState.SUCCESS)
        .group_by(jobs.c.name)
    )
    with get_engine().connect() as conn:
        return {name: at for name, at in conn.execute(stmt)}
