"""The jobs and job pages' reads: keyset-paged lists (newest change first) and one job with its links.

Lists page by (updated_at, id) from the last row shown, never by OFFSET, so the
hundredth page of 100k failed jobs costs what the first does (ix_jobs_state_updated).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, select, text, tuple_
from sqlalchemy.exc import OperationalError

from app.dashboard.models import Resend
from app.db import get_engine
from app.platform.jobs.models import SEARCH_DOCUMENT, Job, JobAttempt, JobLogLine, JobState
from app.platform.jobs.queries import BadJobPrefix, filter_jobs, ids_with_prefix  # noqa: F401 - the pages use them here

jobs = Job.__table__
resends = Resend.__table__
attempts = JobAttempt.__table__
job_logs = JobLogLine.__table__
LOG_LINES_SHOWN = 500

LIST_COLUMNS = (jobs.c.id, jobs.c.name, jobs.c.queue, jobs.c.state, jobs.c.attempts, jobs.c.progress,
                jobs.c.error, jobs.c.worker, jobs.c.eta, jobs.c.created_at, jobs.c.updated_at)
CHILDREN_SHOWN = 100
ATTEMPTS_SHOWN = 50  # newest first; a job retried more often than this shows its latest


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


def periodic_task_names(app: Any) -> frozenset[str]:
    """Tasks sent every few seconds (beat's entries, and tasks marked periodic=True such as the
    per-shard polls beat's dispatcher sends): hidden from job lists unless asked for."""
    names = {entry["task"] for entry in (app.conf.beat_schedule or {}).values()}
    names |= {name for name, task in app.tasks.items() if getattr(task, "periodic", False)}
    return frozenset(names)


MAX_SEARCH = 200
SEARCH_TIMEOUT_MS = 3000


def list_jobs(*, state: str | None = None, queue: str | None = None, name: str | None = None,
              after: Cursor | None = None, limit: int = 50, hide: frozenset[str] = frozenset(),
              search: str | None = None) -> JobPage:
    """Newest change first; `search`: jobs with every word of it among the values of their
    arguments or result (a fid, a supplier code, a tool id), through the ix_jobs_search index."""
    stmt = select(*LIST_COLUMNS).order_by(jobs.c.updated_at.desc(), jobs.c.id.desc()).limit(limit + 1)
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
    _add_resent_as(rows)
    _add_leases(rows)
    return JobPage(rows, Cursor(rows[-1]["updated_at"], rows[-1]["id"]) if more else None)


def failed_jobs(*, queue: str | None = None, after: Cursor | None = None, limit: int = 50) -> JobPage:
    return list_jobs(state=JobState.FAILURE, queue=queue, after=after, limit=limit)


def count_failed(queue: str | None = None) -> dict[str, int]:
    """{"failed": all failed jobs, "not_retried": those the dashboard has not retried yet}."""
    retried = exists().where(resends.c.original_id == jobs.c.id)
    stmt = select(func.count(), func.count().filter(~retried)).where(jobs.c.state == JobState.FAILURE)
    if queue:
        stmt = stmt.where(jobs.c.queue == queue)
    with get_engine().connect() as conn:
        failed, not_retried = conn.execute(stmt).one()
    return {"failed": failed, "not_retried": not_retried}


def count_by_state(queue: str | None = None) -> dict[str, int]:
    """Jobs per state (of one queue, or all): the jobs list's tabs (ix_jobs_queue_state)."""
    stmt = select(jobs.c.state, func.count()).group_by(jobs.c.state)
    if queue:
        stmt = stmt.where(jobs.c.queue == queue)
    with get_engine().connect() as conn:
        return {state: n for state, n in conn.execute(stmt)}


def _add_resent_as(rows: list[dict[str, Any]]) -> None:
    """Each row's replacement, if the dashboard retried it or ran it early (one query per page)."""
    ids = [row["id"] for row in rows]
    found: dict[str, dict[str, Any]] = {}
    if ids:
        stmt = (select(resends.c.original_id, resends.c.job_id, resends.c.reason, jobs.c.state)
                .outerjoin(jobs, jobs.c.id == resends.c.job_id).where(resends.c.original_id.in_(ids)))
        with get_engine().connect() as conn:
            found = {r["original_id"]: dict(r) for r in conn.execute(stmt).mappings()}
    for row in rows:
        row["resent_as"] = found.get(row["id"])


def _add_leases(rows: list[dict[str, Any]]) -> None:
    """Each running job's lease: the worker process holding it, its age, the owner's last heartbeat."""
    from app.platform import leases

    started = [row["id"] for row in rows if row["state"] == JobState.STARTED]
    found: dict[str, dict[str, Any]] = {}
    if started:
        with get_engine().connect() as conn:
            found = leases.for_tasks(conn, started)
    for row in rows:
        row["lease"] = found.get(row["id"])


def job_detail(job_id: str) -> dict[str, Any] | None:
    """The job row plus its parent, children (first CHILDREN_SHOWN, counts by state) and resend links."""
    with get_engine().connect() as conn:
        row = conn.execute(select(jobs).where(jobs.c.id == job_id)).mappings().first()
        if row is None:
            return None
        job: dict[str, Any] = dict(row)
        link_ids = [i for i in (job["parent_id"], job["root_id"]) if i and i != job_id]
        linked = {r["id"]: dict(r) for r in conn.execute(
            select(jobs.c.id, jobs.c.name, jobs.c.state).where(jobs.c.id.in_(link_ids))).mappings()}
        job["parent"] = linked.get(job["parent_id"]) or _missing(job["parent_id"])
        job["root"] = (linked.get(job["root_id"]) or _missing(job["root_id"])
                       if job["root_id"] not in (job_id, job["parent_id"]) else None)
        job["children"] = [dict(r) for r in conn.execute(
            select(jobs.c.id, jobs.c.name, jobs.c.state, jobs.c.progress, jobs.c.updated_at)
            .where(jobs.c.parent_id == job_id).order_by(jobs.c.created_at, jobs.c.id)
            .limit(CHILDREN_SHOWN)).mappings()]
        job["children_by_state"] = dict(conn.execute(
            select(jobs.c.state, func.count()).where(jobs.c.parent_id == job_id).group_by(jobs.c.state)).all())
        job["attempt_history"] = [dict(r) for r in conn.execute(
            select(attempts.c.attempt, attempts.c.worker, attempts.c.state, attempts.c.error,
                   attempts.c.started_at, attempts.c.finished_at)
            .where(attempts.c.job_id == job_id).order_by(attempts.c.attempt.desc()).limit(ATTEMPTS_SHOWN)).mappings()]
        job["logs"] = [dict(r) for r in conn.execute(
            select(job_logs.c.attempt, job_logs.c.logged_at, job_logs.c.level, job_logs.c.logger, job_logs.c.message)
            .where(job_logs.c.job_id == job_id).order_by(job_logs.c.attempt.desc(), job_logs.c.seq)
            .limit(LOG_LINES_SHOWN)).mappings()]
        job["resent_as"] = _resend(conn, resends.c.original_id == job_id, resends.c.job_id)
        job["resend_of"] = _resend(conn, resends.c.job_id == job_id, resends.c.original_id)
    _add_leases([job])
    return job


def _missing(job_id: str | None) -> dict[str, Any] | None:
    return {"id": job_id, "name": None, "state": None} if job_id else None


def _resend(conn: Any, where: Any, other: Any) -> dict[str, Any] | None:
    """A resend link seen from one side: the other job's id, name and state, why and by whom."""
    stmt = (select(other.label("id"), resends.c.reason, resends.c.requested_by, resends.c.requested_at,
                   jobs.c.name, jobs.c.state)
            .outerjoin(jobs, jobs.c.id == other).where(where))
    row = conn.execute(stmt).mappings().first()
    return dict(row) if row else None


def scheduled_jobs(queue: str, limit: int = 50) -> list[dict[str, Any]]:
    """Jobs published with an ETA that have not started: the ones "run now" applies to."""
    stmt = (select(*LIST_COLUMNS)
            .where(jobs.c.queue == queue, jobs.c.eta.is_not(None),
                   jobs.c.state.in_((JobState.PENDING, JobState.RETRY)))
            .order_by(jobs.c.eta, jobs.c.id).limit(limit))
    with get_engine().connect() as conn:
        return [dict(row) for row in conn.execute(stmt).mappings()]


FLOW_DEPTH = 4  # levels of descendants shown (supplier sync -> family -> image upload is 2)
FLOW_SHOWN = 50  # jobs listed per level; the counts cover them all

_FLOW = text("""
    WITH RECURSIVE flow(id, depth) AS (
        SELECT id, 1 FROM jobs WHERE parent_id = :id
        UNION ALL
        SELECT j.id, f.depth + 1 FROM jobs j JOIN flow f ON j.parent_id = f.id WHERE f.depth < :depth
    )
    SELECT f.depth, j.id, j.name, j.state, j.updated_at,
           count(*) OVER (PARTITION BY f.depth, j.name, j.state) AS same,
           row_number() OVER (PARTITION BY f.depth ORDER BY j.updated_at DESC, j.id) AS n
    FROM flow f JOIN jobs j ON j.id = f.id
""")


def flow_tree(job_id: str, depth: int = FLOW_DEPTH, shown: int = FLOW_SHOWN) -> list[dict[str, Any]]:
    """A job's descendants level by level: per level the counts by task and state, and its newest jobs."""
    levels: dict[int, dict[str, Any]] = {}
    with get_engine().connect() as conn:
        for row in conn.execute(_FLOW, {"id": job_id, "depth": depth}):
            level = levels.setdefault(row.depth, {"depth": row.depth, "counts": {}, "jobs": [], "total": 0})
            level["counts"][(row.name, row.state)] = row.same
            level["total"] += 1
            if row.n <= shown:
                level["jobs"].append({"id": row.id, "name": row.name, "state": row.state,
                                      "updated_at": row.updated_at})
    return [levels[d] for d in sorted(levels)]
