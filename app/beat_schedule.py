"""Periodic tasks run by the single beat process (RedBeat-locked)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from app.settings import Settings


def build_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    schedule: dict[str, dict[str, Any]] = {
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
        from workers.pools import QUEUES

        for queue in QUEUES:
            schedule[f"canary-{queue}"] = {
                "task": f"canary.{queue}",
                "schedule": timedelta(seconds=settings.canary_interval_seconds),
                # A canary older than its interval is worthless; don't let them pile up.
                "options": {"expires": settings.canary_interval_seconds},
            }
    if settings.farcaster_beat_enabled:
        # One dispatcher reads /v1/info (numShards) and sends one poll per data shard; polls of
        # a shard never overlap (row lock on its cursor), stale ones expire.
        poll = settings.realtime_poll_interval_seconds
        schedule["farcaster-poll-shards"] = {
            "task": "farcaster.poll_shards", "schedule": timedelta(seconds=poll), "options": {"expires": poll * 2},
        }
        schedule["farcaster-recover"] = {
            "task": "farcaster.recover",
            "schedule": timedelta(seconds=settings.farcaster_recovery_interval_seconds),
            "options": {"expires": settings.farcaster_recovery_interval_seconds},
        }
        schedule["farcaster-reconcile-all"] = {
            "task": "farcaster.reconcile_all",
            "schedule": timedelta(seconds=settings.farcaster_reconcile_interval_seconds),
        }
    return schedule
