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
    return schedule
