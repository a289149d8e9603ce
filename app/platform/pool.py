"""A worker pool: one `celery worker` process (scaled by replicas) consuming its own queues."""
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
