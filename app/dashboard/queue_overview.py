"""The queues page's numbers: per queue, waiting messages (Redis, by priority) and jobs by state.

Counts come from one GROUP BY queue, state (the ix_jobs_queue_state index) and
one count of scheduled jobs (ix_jobs_state_updated), so the page stays fast as
the jobs table grows.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from app.dashboard.models import Resend
from app.platform.pauses import Pause, paused_queues
from app.db import get_engine
from app.platform.jobs.models import Job, JobState
from app.platform.queues import waiting_by_priority
from workers.pools import QUEUES, pool_for_queue

jobs = Job.__table__
resends = Resend.__table__


@dataclass
class QueueSummary:
    name: str
    pool: str | None
    waiting_by_priority: dict[int, int]  # in the broker, per priority step (0 highest)
    by_state: dict[str, int] = field(default_factory=dict)  # jobs table
    scheduled: int = 0  # published with an ETA or countdown, not started yet
    retried_failures: int = 0  # failed jobs the dashboard already sent again
    paused: Pause | None = None

    @property
    def waiting(self) -> int:
        return sum(self.waiting_by_priority.values())

    @property
    def active(self) -> int:
        return self.by_state.get(JobState.STARTED, 0)

    @property
    def retrying(self) -> int:
        return self.by_state.get(JobState.RETRY, 0)

    @property
    def completed(self) -> int:
        return self.by_state.get(JobState.SUCCESS, 0)

    @property
    def failed(self) -> int:
        """Failed and not retried yet: what still needs an operator."""
        return self.by_state.get(JobState.FAILURE, 0) - self.retried_failures

    @property
    def discarded(self) -> int:
        """Revoked or refused by a worker."""
        return self.by_state.get(JobState.REVOKED, 0) + self.by_state.get(JobState.REJECTED, 0)


def counts_by_state() -> dict[str, dict[str, int]]:
    stmt = select(jobs.c.queue, jobs.c.state, func.count()).group_by(jobs.c.queue, jobs.c.state)
    counts: dict[str, dict[str, int]] = {}
    with get_engine().connect() as conn:
        for queue, state, n in conn.execute(stmt):
            counts.setdefault(queue or "", {})[state] = n
    return counts


def scheduled_counts() -> dict[str, int]:
    stmt = (select(jobs.c.queue, func.count())
            .where(jobs.c.state == JobState.PENDING, jobs.c.eta.is_not(None))
            .group_by(jobs.c.queue))
    with get_engine().connect() as conn:
        return {queue or "": n for queue, n in conn.execute(stmt)}


def retried_failure_counts() -> dict[str, int]:
    """Failed jobs already retried, per queue (from the small resends table outwards)."""
    stmt = (select(jobs.c.queue, func.count())
            .select_from(resends.join(jobs, jobs.c.id == resends.c.original_id))
            .where(jobs.c.state == JobState.FAILURE).group_by(jobs.c.queue))
    with get_engine().connect() as conn:
        return {queue or "": n for queue, n in conn.execute(stmt)}


def queue_summaries(redis_url: str, queues: tuple[str, ...] = QUEUES) -> list[QueueSummary]:
    waiting = waiting_by_priority(redis_url, queues)
    counts = counts_by_state()
    scheduled = scheduled_counts()
    retried = retried_failure_counts()
    paused = paused_queues()
    summaries = []
    for queue in queues:
        pool = pool_for_queue(queue)
        summaries.append(QueueSummary(
            name=queue, pool=pool.name if pool else None, waiting_by_priority=waiting[queue],
            by_state=counts.get(queue, {}), scheduled=scheduled.get(queue, 0),
            retried_failures=retried.get(queue, 0), paused=paused.get(queue)))
    return summaries
