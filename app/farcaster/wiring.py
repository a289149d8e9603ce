"""The Farcaster indexer as one pipeline: what the platform runs, schedules and shows of it."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from app.farcaster.demo import HUB_SIM_COMMAND, HUB_SIM_ENV
from app.farcaster.settings import FarcasterSettings
from app.platform.pipeline import BeatEntries, Demo, DemoProcess, Pipeline
from app.platform.pool import Pool

POOLS = (
    Pool("realtime", ("realtime",), concurrency=2, prefetch_multiplier=1,
         soft_time_limit=50, time_limit=60, max_tasks_per_child=1000,
         description="Farcaster: per-shard event stream polls (beat-driven)"),
    Pool("events", ("events",), concurrency=2, prefetch_multiplier=2,
         soft_time_limit=110, time_limit=120, max_tasks_per_child=1000,
         description="Farcaster: apply relevant hub events in batches"),
    # Prefork processes, each with HUB_CONCURRENCY hub threads inside its tasks
    # (app/farcaster/inflight.py): the hub waits overlap on the threads, while parsing and
    # writing (CPU-bound against a near hub) spread over the processes, and prefork keeps the
    # time limits. 3 processes on 2 cores: parse and COPY of one process overlap another's
    # hub waits and PostgreSQL's work (bench/remote_hub.py; app/farcaster/README.md, "Backfill").
    Pool("backfill", ("backfill",), concurrency=3, prefetch_multiplier=1,
         soft_time_limit=1700, time_limit=1800, max_tasks_per_child=200,
         description="Farcaster: full histories of fids (many per task), reconciliation, client-app scans"),
)


def beat_entries(settings: Any) -> BeatEntries:
    if not settings.farcaster_beat_enabled:
        return {}
    # One dispatcher reads /v1/info (numShards) and sends one poll per data shard; polls of
    # a shard never overlap (row lock on its cursor), stale ones expire.
    poll = settings.realtime_poll_interval_seconds
    return {
        "farcaster-poll-shards": {
            "task": "farcaster.poll_shards", "schedule": timedelta(seconds=poll), "options": {"expires": poll * 2},
        },
        "farcaster-recover": {
            "task": "farcaster.recover",
            "schedule": timedelta(seconds=settings.farcaster_recovery_interval_seconds),
            "options": {"expires": settings.farcaster_recovery_interval_seconds},
        },
        "farcaster-reconcile-all": {
            "task": "farcaster.reconcile_all",
            "schedule": timedelta(seconds=settings.farcaster_reconcile_interval_seconds),
        },
    }


PIPELINE = Pipeline(
    name="farcaster",
    task_modules=("tasks.farcaster",),
    pools=POOLS,
    settings=FarcasterSettings,
    beat=beat_entries,
    cli=("app.farcaster.cli:register",),
    models=("app.farcaster.models", "app.farcaster.read_api.models"),
    metrics="app.farcaster.metrics:FarcasterMetrics",
    services="app.farcaster.services:build_indexer",
    demo=Demo(processes=(DemoProcess("hub-sim", HUB_SIM_COMMAND, env=HUB_SIM_ENV),),
              seed="app.farcaster.demo:seed_demo"),
)
