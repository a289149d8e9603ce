"""Worker pool definitions: the one list Procfile, compose.yaml, settings and the docs follow.

Each pool is one `celery worker` process (scaled by replicas) consuming its own
queues, so a slow pipeline never starves another (separate pools, not priorities,
is the Redis-safe way to isolate workloads). Each pipeline declares its pools
(app/<pipeline>/wiring.py); this module puts them in one list, in pipeline order.
"""
from __future__ import annotations

from app.pipelines import PIPELINES
from app.platform.pool import Pool

POOLS: tuple[Pool, ...] = tuple(pool for pipeline in PIPELINES for pool in pipeline.pools)
POOLS_BY_NAME: dict[str, Pool] = {p.name: p for p in POOLS}
QUEUES: tuple[str, ...] = tuple(q for p in POOLS for q in p.queues)


def pool_for_queue(queue: str) -> Pool | None:
    for pool in POOLS:
        if queue in pool.queues:
            return pool
    return None
