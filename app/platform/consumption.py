"""Consumption-stall check: a queue with messages waiting, a pool with a free slot, and no task of
that queue started for `stall_after` seconds. A known Celery-on-Redis failure after reconnects is a
worker that answers ping but never fetches again; the per-queue canaries make an idle queue
non-empty now and then, so a stuck pool is caught even when nothing else is queued."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import text
from sqlalchemy.engine import Engine


@dataclass(frozen=True)
class QueueActivity:
    queue: str
    waiting: int  # messages in the broker
    last_started: datetime | None  # newest task start of this queue (jobs table)
    running: int  # tasks of this queue started and not finished, younger than the pool's time limit


@dataclass(frozen=True)
class Stall:
    queue: str
    reason: str


def queue_activity(engine: Engine, waiting: dict[str, int], time_limits: dict[str, int]) -> list[QueueActivity]:
    """Activity per queue: waiting counts from the broker, starts and running tasks from the jobs table."""
    with engine.connect() as conn:
        rows = conn.execute(text("""
            SELECT queue, max(started_at),
                   count(*) FILTER (WHERE state = 'STARTED'
                                    AND started_at > now() - make_interval(secs => CAST(:limit AS float)))
            FROM jobs WHERE queue = ANY(:queues) AND started_at IS NOT NULL GROUP BY queue
        """), {"queues": list(waiting), "limit": max(time_limits.values(), default=3600)}).all()
    seen = {queue: (last, int(running)) for queue, last, running in rows}
    return [QueueActivity(q, n, *seen.get(q, (None, 0))) for q, n in waiting.items()]


class ConsumptionWatch:
    """Remembers since when each queue has had messages waiting; `check` returns the stalled ones."""

    def __init__(self, stall_after: float, capacity: Callable[[str], int]) -> None:
        if stall_after <= 0:
            raise ValueError("stall_after must be positive")
        self.stall_after = timedelta(seconds=stall_after)
        self.capacity = capacity  # processes consuming a queue, across its workers
        self.waiting_since: dict[str, datetime] = {}

    def check(self, activity: Iterable[QueueActivity], now: datetime | None = None) -> list[Stall]:
        now = now or datetime.now(timezone.utc)
        stalls = []
        for a in activity:
            if a.waiting <= 0:
                self.waiting_since.pop(a.queue, None)
                continue
            since = self.waiting_since.setdefault(a.queue, now)
            if a.last_started is not None and a.last_started > since:
                since = self.waiting_since[a.queue] = a.last_started  # consuming: reset the clock
            if now - since < self.stall_after or a.running >= self.capacity(a.queue):
                continue
            idle = int((now - since).total_seconds())
            stalls.append(Stall(a.queue, f"{a.waiting} message(s) waiting in {a.queue!r}, "
                                         f"{a.running} of {self.capacity(a.queue)} slots busy, "
                                         f"no task started for {idle} s"))
        return stalls
