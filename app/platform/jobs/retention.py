"""Job history retention: delete finished records past their age, in bounded batches."""
from __future__ import annotations

from sqlalchemy import text

from app.db import get_engine
from app.platform.jobs.models import JobState

_BATCH = 5000

# Deletes by primary key in batches so a large backlog never holds one long lock.
_DELETE_BATCH = text(
    """
    DELETE FROM jobs WHERE id IN (
        SELECT id FROM jobs
        WHERE state = ANY(:states) AND updated_at < now() - make_interval(secs => :age)
        LIMIT :batch
    )
    """
)


def _delete(states: tuple[str, ...], days: float) -> int:
    total = 0
    engine = get_engine()
    while True:
        with engine.begin() as conn:
            deleted = conn.execute(
                _DELETE_BATCH, {"states": list(states), "age": days * 86400, "batch": _BATCH}
            ).rowcount
        total += deleted
        if deleted < _BATCH:
            return total


def prune_jobs(*, succeeded_days: float, failed_days: float) -> dict[str, int]:
    return {
        "succeeded": _delete((JobState.SUCCESS, JobState.REVOKED), succeeded_days),
        "failed": _delete((JobState.FAILURE, JobState.REJECTED), failed_days),
    }
