"""The platform's own part, declared like a pipeline: the maintenance pool, job retention,
per-queue canaries, the platform commands and the jobs and pause tables."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from app.platform.pipeline import BeatEntries, Demo, Pipeline
from app.platform.pool import Pool

MAINTENANCE = Pool("maintenance", ("maintenance",), concurrency=1, prefetch_multiplier=1,
                   soft_time_limit=550, time_limit=600, max_tasks_per_child=100,
                   description="Housekeeping: job retention, queue canaries, reconciliation triggers")


def beat_entries(settings: Any) -> BeatEntries:
    schedule: BeatEntries = {
        "prune-jobs": {
            "task": "maintenance.prune_jobs",
            "schedule": timedelta(hours=1),
        },
        # Liveness-based recovery: re-send the work of dead workers (app/platform/lease_sweep.py).
        "sweep-leases": {
            "task": "maintenance.sweep_leases",
            "schedule": timedelta(seconds=settings.lease_sweep_interval_seconds),
            "options": {"expires": settings.lease_sweep_interval_seconds},
        },
    }
    if settings.canary_interval_seconds > 0:
        # A canary per queue proves each pool consumes (a stalled consumer looks alive to a PID check).
        for queue in (q for pool in settings.pools() for q in pool.queues):
            schedule[f"canary-{queue}"] = {
                "task": f"canary.{queue}",
                "schedule": timedelta(seconds=settings.canary_interval_seconds),
                # A canary older than its interval is worthless; don't let them pile up.
                "options": {"expires": settings.canary_interval_seconds},
            }
    return schedule


def seed_canaries() -> str:
    """Send one canary per queue: each pool proves it consumes."""
    from app.platform.resources import shared_resources
    from workers.pools import QUEUES

    send_task = shared_resources().send_task
    for queue in QUEUES:
        send_task(f"canary.{queue}")
    return f"sent a canary to each of {len(QUEUES)} queues"


PLATFORM = Pipeline(
    name="platform",
    task_modules=("tasks.canary", "tasks.maintenance"),
    pools=(MAINTENANCE,),
    beat=beat_entries,
    cli=("app.cli.platform:register", "app.cli.local:register"),
    models=("app.platform.jobs.models", "app.platform.pauses", "app.platform.lease_models"),
    demo=Demo(seed="app.platform.housekeeping:seed_canaries"),
)
