"""Operator actions that delete: clean old finished jobs from the history, purge waiting messages."""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, text, update

from app.platform.celeryconfig import PRIORITY_STEPS
from app.dashboard.actions import ActionError
from app.platform.pauses import check_queue
from app.db import get_engine
from app.platform.jobs.models import Job, JobState
from app.platform.queues import priority_list_key

log = logging.getLogger(__name__)

jobs = Job.__table__

# What "clean" may delete, by the names the pages use.
CLEANABLE = {"completed": (JobState.SUCCESS,), "failed": (JobState.FAILURE,)}

# By primary key in batches, so cleaning a large history never holds one long lock (as retention does).
_DELETE_BATCH = text(
    """
    DELETE FROM jobs WHERE id IN (
        SELECT id FROM jobs
        WHERE queue = :queue AND state = ANY(:states) AND updated_at < now() - make_interval(secs => :age)
        LIMIT :batch
    )
    """
)


def _states(kind: str) -> tuple[str, ...]:
    if kind not in CLEANABLE:
        raise ActionError(f"clean: {kind!r} is not one of {', '.join(CLEANABLE)}")
    return CLEANABLE[kind]


def _check_age(older_than_seconds: float) -> float:
    if older_than_seconds < 0:
        raise ActionError("clean: the age must be 0 or more")
    return older_than_seconds


def count_cleanable(queue: str, kind: str, older_than_seconds: float) -> int:
    """How many job records clean would delete (shown before the operator confirms)."""
    check_queue(queue)
    stmt = select(func.count()).where(
        jobs.c.queue == queue, jobs.c.state.in_(_states(kind)),
        jobs.c.updated_at < func.now() - timedelta(seconds=_check_age(older_than_seconds)))
    with get_engine().connect() as conn:
        return conn.execute(stmt).scalar_one()


def clean_jobs(queue: str, kind: str, older_than_seconds: float, *, by: str | None = None,
               batch: int = 5000) -> int:
    """Delete the queue's completed or failed job records last changed longer ago than the age."""
    check_queue(queue)
    params = {"queue": queue, "states": list(_states(kind)), "age": _check_age(older_than_seconds), "batch": batch}
    total = 0
    while True:
        with get_engine().begin() as conn:
            deleted = conn.execute(_DELETE_BATCH, params).rowcount
        total += deleted
        if deleted < batch:
            break
    log.info("dashboard: %s cleaned %d %s jobs of %s older than %ss", by or "-", total, kind, queue,
             older_than_seconds)
    return total


def purge_queue(queue: str, *, redis_client: Any, by: str | None = None) -> int:
    """Delete every message waiting in the queue's priority lists; returns how many.

    The lists are read and deleted in one MULTI, so a message sent meanwhile is
    either purged and marked or kept. Their job records become REVOKED, so the
    history does not show purged work as still pending.
    """
    check_queue(queue)
    keys = [priority_list_key(queue, step) for step in PRIORITY_STEPS]
    pipe = redis_client.pipeline(transaction=True)
    for key in keys:
        pipe.lrange(key, 0, -1)
    pipe.delete(*keys)
    *lists, _ = pipe.execute()
    from app.dashboard.waiting_messages import decode

    ids = [m.id for raws in lists for m in (decode(raw, 0, 0) for raw in raws) if m.id]
    purged = sum(len(raws) for raws in lists)
    for start in range(0, len(ids), 1000):
        with get_engine().begin() as conn:
            conn.execute(update(jobs).where(jobs.c.id.in_(ids[start:start + 1000]),
                                            jobs.c.state == JobState.PENDING)
                         .values(state=JobState.REVOKED, error=f"purged from the queue by {by or '-'}",
                                 finished_at=func.now(), updated_at=func.now()))
    log.warning("dashboard: %s purged %d waiting messages of %s", by or "-", purged, queue)
    return purged
