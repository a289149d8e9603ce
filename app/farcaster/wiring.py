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
    # Against a hub on the same network a backfill is CPU-bound (parse, write): more processes
    # than cores + 1 only add switching (bench/farcaster.py on 2 cores: 4 processes ~20 %
    # slower than 3). A remote hub's request-rate limit binds long before. BACKFILL_CONCURRENCY.
    Pool("backfill", ("backfill",), concurrency=3, prefetch_multiplier=1,
         soft_time_limit=1700, time_limit=1800, max_tasks_per_child=200,
         description="Farcaster: full history of one fid, plus reconciliation"),
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
    services="app.farcaster.services:build_indexer",
    demo=Demo(processes=(DemoProcess("hub-sim", HUB_SIM_COMMAND, env=HUB_SIM_ENV),),
              seed="app.farcaster.demo:seed_demo"),
)
