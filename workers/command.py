"""The command line that runs one pool: what Procfile and compose.yaml execute via `switchyard worker`."""
from __future__ import annotations

from workers.pools import Pool


def worker_argv(pool: Pool, *, loglevel: str = "INFO", celery: tuple[str, ...] = ("celery",)) -> list[str]:
    return [
        *celery, "-A", "app", "worker",
        "--queues", ",".join(pool.queues),
        "--hostname", pool.hostname,
        "--pool", pool.pool_type,
        "--concurrency", str(pool.concurrency),
        "--prefetch-multiplier", str(pool.prefetch_multiplier),
        "--soft-time-limit", str(pool.soft_time_limit),
        "--time-limit", str(pool.time_limit),
        "--max-tasks-per-child", str(pool.max_tasks_per_child),
        "--task-events",
        "--loglevel", loglevel,
    ]
