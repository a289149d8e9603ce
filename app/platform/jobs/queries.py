"""Read the jobs table, for the CLI, the dashboard, the health check and the metrics endpoint:
counts by queue and state, job lists (offset or keyset paged), one job, last canaries.
Queue depths (the broker's side) come from app.platform.queues."""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, text, tuple_
from sqlalchemy.exc import OperationalError

from app.db import get_engine
from app.platform.jobs.models import SEARCH_DOCUMENT, Job, JobState

jobs = Job.__table__


def counts_by_queue_and_state(no_queue: str = "?") -> dict[str, dict[str, int]]:
    """{queue: {state: jobs}} from one GROUP BY (the ix_jobs_queue_state index); jobs recorded
    without a queue count under ``no_queue``."""
    stmt = select(jobs.c.queue, jobs.c.state, func.count()).group_by(jobs.c.queue, jobs.c.state)
    counts: dict[str, dict[str, int]] = {}
    with get_engine().connect() as conn:
        for queue, state, n in conn.execute(stmt):
            counts.setdefault(queue or no_queue, {})[state] = n
    return counts


def scheduled_counts() -> dict[str, int]:
    """Jobs published with an ETA or countdown that have not started, per queue."""
    stmt = (select(jobs.c.queue, func.count())
            .where(jobs.c.state == JobState.PENDING, jobs.c.eta.is_not(None))
            .group_by(jobs.c.queue))
    with get_engine().connect() as conn:
        return {queue or "": n for queue, n in conn.execute(stmt)}


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


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the last row's (updated_at, id)."""

    updated_at: datetime
    id: str

    def encode(self) -> str:
        return f"{self.updated_at.isoformat()}|{self.id}"

    @classmethod
    def decode(cls, text: str | None) -> "Cursor | None":
        if not text or "|" not in text:
            return None
        at, job_id = text.split("|", 1)
        try:
            return cls(datetime.fromisoformat(at), job_id)
        except ValueError:
            return None


@dataclass
class JobPage:
    rows: list[dict[str, Any]]
    next: Cursor | None  # None on the last page


MAX_SEARCH = 200
SEARCH_TIMEOUT_MS = 3000


def page_jobs(*, state: str | None = None, queue: str | None = None, name: str | None = None,
              after: Cursor | None = None, limit: int = 50, columns: Sequence[Any] = (jobs,),
              hide: frozenset[str] = frozenset(), search: str | None = None) -> JobPage:
    """Newest change first, paged by (updated_at, id) from the last row shown, never by OFFSET,
    so the hundredth page of 100k failed jobs costs what the first does (ix_jobs_state_updated).
    ``hide``: task names left out unless ``name`` asks for one; ``search``: jobs with every word of
    it among the values of their arguments or result (a fid, a supplier code, a tool id), through
    the ix_jobs_search index."""
    stmt = select(*columns).order_by(jobs.c.updated_at.desc(), jobs.c.id.desc()).limit(limit + 1)
    stmt = filter_jobs(stmt, state=state, queue=queue, name=name)
    if search and search.strip():
        if len(search) > MAX_SEARCH:
            raise ValueError(f"search: at most {MAX_SEARCH} characters")
        stmt = stmt.where(text(f"{SEARCH_DOCUMENT} @@ plainto_tsquery('simple'::regconfig, :search)")
                          .bindparams(search=search.strip()))
    if hide and not name:
        stmt = stmt.where(jobs.c.name.not_in(sorted(hide)))
    if after:
        stmt = stmt.where(tuple_(jobs.c.updated_at, jobs.c.id) < tuple_(after.updated_at, after.id))
    with get_engine().begin() as conn:
        if search:
            # A word that most jobs contain ("true") matches too many rows to sort in time: say so.
            conn.execute(text(f"SET LOCAL statement_timeout = {SEARCH_TIMEOUT_MS}"))
        try:
            rows = [dict(row) for row in conn.execute(stmt).mappings()]
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) != "57014":  # query_canceled
                raise
            raise ValueError(f"search: too many jobs contain {search!r} to list them in time; "
                             f"narrow it with a queue, a state or a task") from None
    more = len(rows) > limit
    rows = rows[:limit]
    return JobPage(rows, Cursor(rows[-1]["updated_at"], rows[-1]["id"]) if more else None)


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
