"""The jobs and job pages' reads: keyset-paged lists (app.platform.jobs.queries) with the
dashboard's resend links, and one job with its links."""
from __future__ import annotations

from typing import Any

from sqlalchemy import exists, func, select, text

from app.dashboard.models import Resend
from app.db import get_engine
from app.platform.jobs.models import Job, JobAttempt, JobLogLine, JobState
from app.platform.jobs.queries import (  # noqa: F401 - the pages use BadJobPrefix, ids_with_prefix, MAX_SEARCH here
    MAX_SEARCH, BadJobPrefix, Cursor, JobPage, ids_with_prefix, page_jobs)

jobs = Job.__table__
resends = Resend.__table__
attempts = JobAttempt.__table__
job_logs = JobLogLine.__table__
LOG_LINES_SHOWN = 500

LIST_COLUMNS = (jobs.c.id, jobs.c.name, jobs.c.queue, jobs.c.state, jobs.c.attempts, jobs.c.progress,
                jobs.c.error, jobs.c.worker, jobs.c.eta, jobs.c.created_at, jobs.c.updated_at)
CHILDREN_SHOWN = 100
ATTEMPTS_SHOWN = 50  # newest first; a job retried more often than this shows its latest


def periodic_task_names(app: Any) -> frozenset[str]:
    """Tasks sent every few seconds (beat's entries, and tasks marked periodic=True such as the
    per-shard polls beat's dispatcher sends): hidden from job lists unless asked for."""
    names = {entry["task"] for entry in (app.conf.beat_schedule or {}).values()}
    names |= {name for name, task in app.tasks.items() if getattr(task, "periodic", False)}
    return frozenset(names)


def list_jobs(*, state: str | None = None, queue: str | None = None, name: str | None = None,
              after: Cursor | None = None, limit: int = 50, hide: frozenset[str] = frozenset(),
              search: str | None = None) -> JobPage:
    """Newest change first, with each row's resend link (see page_jobs for `hide` and `search`)."""
    page = page_jobs(state=state, queue=queue, name=name, after=after, limit=limit, columns=LIST_COLUMNS,
                     hide=hide, search=search)
    _add_resent_as(page.rows)
    _add_leases(page.rows)
    return page


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

# The rows travel in the recursive query itself: joined back to jobs afterwards, the planner's
# guess of the recursion's size (millions) picked a scan of the whole table.
_FLOW = text("""
    WITH RECURSIVE flow(id, name, state, updated_at, depth) AS (
        SELECT id, name, state, updated_at, 1 FROM jobs WHERE parent_id = :id
        UNION ALL
        SELECT j.id, j.name, j.state, j.updated_at, f.depth + 1
        FROM flow f JOIN jobs j ON j.parent_id = f.id WHERE f.depth < :depth
    )
    SELECT depth, id, name, state, updated_at,
           count(*) OVER (PARTITION BY depth, name, state) AS same,
           row_number() OVER (PARTITION BY depth ORDER BY updated_at DESC, id) AS n
    FROM flow
""")


def flow_tree(job_id: str, depth: int = FLOW_DEPTH, shown: int = FLOW_SHOWN) -> list[dict[str, Any]]:
    """A job's descendants level by level: per level the counts by task and state, and its newest jobs."""
    levels: dict[int, dict[str, Any]] = {}
    with get_engine().begin() as conn:
        conn.execute(text("SET LOCAL jit = off"))  # compiling it cost more than running it
        for row in conn.execute(_FLOW, {"id": job_id, "depth": depth}):
            level = levels.setdefault(row.depth, {"depth": row.depth, "counts": {}, "jobs": [], "total": 0})
            level["counts"][(row.name, row.state)] = row.same
            level["total"] += 1
            if row.n <= shown:
                level["jobs"].append({"id": row.id, "name": row.name, "state": row.state,
                                      "updated_at": row.updated_at})
    return [levels[d] for d in sorted(levels)]
