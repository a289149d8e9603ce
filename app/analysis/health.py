"""Queue health: broker and database reachability plus job counts per queue."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from app.settings import Settings

# jobs-table states behind each count (completed/failed cover the job-history retention window).
STATE_COUNTS = {"active": ("STARTED",), "completed": ("SUCCESS",), "failed": ("FAILURE", "REJECTED"),
                "delayed": ("RETRY",)}
PRIORITY_NAMES = {0: "high", 3: "normal", 6: "low", 9: "lowest"}


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {str(exc)[:300]}"


def queue_health(settings: Settings) -> dict[str, Any]:
    from app.analysis import store
    from app.platform.jobs.queries import counts_by_queue_and_state
    from app.platform.queues import waiting_by_priority
    from workers.pools import QUEUES

    broker: dict[str, Any] = {"reachable": True, "error": None}
    database: dict[str, Any] = {"reachable": True, "error": None}
    depths: dict[str, dict[int, int]] = {}
    counts: dict[str, dict[str, int]] = {}
    analysis_jobs: dict[str, int] | None = None
    try:
        depths = waiting_by_priority(settings.redis_url, QUEUES)
    except Exception as exc:  # noqa: BLE001 - any failure means "unreachable", reported, not raised
        broker = {"reachable": False, "error": _describe(exc)}
    try:
        counts = counts_by_queue_and_state()
        analysis_jobs = store.counts_by_status()
    except Exception as exc:  # noqa: BLE001
        database = {"reachable": False, "error": _describe(exc)}

    queues = {}
    for queue in QUEUES:
        states = counts.get(queue, {})
        steps = depths.get(queue)
        queues[queue] = {
            "waiting": sum(steps.values()) if steps is not None else None,
            "waitingByPriority": {PRIORITY_NAMES[s]: n for s, n in steps.items()} if steps is not None else None,
            **{name: (sum(states.get(s, 0) for s in wanted) if database["reachable"] else None)
               for name, wanted in STATE_COUNTS.items()},
        }
    healthy = broker["reachable"] and database["reachable"]
    return {
        "status": "healthy" if healthy else "unhealthy",
        "timestamp": datetime.now(timezone.utc),
        "broker": broker,
        "database": database,
        "queues": queues,
        "analysisJobs": analysis_jobs,
    }
