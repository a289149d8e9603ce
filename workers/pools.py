"""Worker pool definitions: the one source Procfile, compose.yaml and the docs follow.

Each pool is one `celery worker` process (scaled by replicas) consuming its own
queues, so a slow pipeline never starves another (separate pools, not priorities,
is the Redis-safe way to isolate workloads).
"""
from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Pool:
    name: str
    queues: tuple[str, ...]
    concurrency: int
    # 1 for long or priority-sensitive tasks: a prefetched message can't be
    # reordered or taken by an idle sibling worker.
    prefetch_multiplier: int
    soft_time_limit: int  # seconds; raises SoftTimeLimitExceeded in the task
    time_limit: int  # seconds; the child process is killed and replaced
    max_tasks_per_child: int  # recycles children to bound slow memory growth
    pool_type: str = "prefork"  # prefork is the only pool enforcing time limits
    description: str = ""

    @property
    def hostname(self) -> str:
        return f"{self.name}@%h"

    def with_overrides(self, **overrides: int | None) -> "Pool":
        """Return a copy with the non-None overrides applied."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]


POOLS: tuple[Pool, ...] = (
    Pool("realtime", ("realtime",), concurrency=2, prefetch_multiplier=1,
         soft_time_limit=50, time_limit=60, max_tasks_per_child=1000,
         description="Farcaster: per-shard event stream polls (beat-driven)"),
    Pool("events", ("events",), concurrency=2, prefetch_multiplier=2,
         soft_time_limit=110, time_limit=120, max_tasks_per_child=1000,
         description="Farcaster: apply relevant hub events in batches"),
    # Against a hub on the same network a backfill is CPU-bound (parse, write): more processes
    # than cores + 1 only add switching (bench/farcaster.py on 2 cores: 4 processes ~20 %
    # slower than 3). A remote hub's request-rate limit binds long before. BACKFILL_CONCURRENCY.
    Pool("backfill", ("backfill",), concurrency=3, prefetch_multiplier=1,
         soft_time_limit=1700, time_limit=1800, max_tasks_per_child=200,
         description="Farcaster: full history of one fid, plus reconciliation"),
    Pool("supplier-sync", ("supplier-sync",), concurrency=1, prefetch_multiplier=1,
         soft_time_limit=1750, time_limit=1800, max_tasks_per_child=50,
         description="Catalogue: parse the feed, diff one supplier, fan out"),
    Pool("product-family", ("product-family",), concurrency=3, prefetch_multiplier=1,
         soft_time_limit=280, time_limit=300, max_tasks_per_child=500,
         description="Catalogue: upsert one product family"),
    Pool("image-upload", ("image-upload",), concurrency=10, prefetch_multiplier=4,
         soft_time_limit=110, time_limit=120, max_tasks_per_child=1000,
         description="Catalogue: download, dedupe and store one image"),
    Pool("analysis", ("analysis",), concurrency=2, prefetch_multiplier=1,
         soft_time_limit=110, time_limit=120, max_tasks_per_child=200,
         description="Analysis jobs: fetch and analyse a tool's URL (priorities)"),
    Pool("maintenance", ("maintenance",), concurrency=1, prefetch_multiplier=1,
         soft_time_limit=550, time_limit=600, max_tasks_per_child=100,
         description="Housekeeping: job retention, queue canaries, reconciliation triggers"),
)

POOLS_BY_NAME: dict[str, Pool] = {p.name: p for p in POOLS}
QUEUES: tuple[str, ...] = tuple(q for p in POOLS for q in p.queues)


def pool_for_queue(queue: str) -> Pool | None:
    for pool in POOLS:
        if queue in pool.queues:
            return pool
    return None
