"""Route each task to the queue its definition names.

Tasks declare ``queue=...`` where they are defined; this router makes that hold
for every way of sending (``apply_async``, ``send_task``, ``celery call``),
since ``send_task`` does not see the task class's own options.
"""
from __future__ import annotations

from typing import Any


def route_by_task_queue(name: str, args: Any, kwargs: Any, options: dict[str, Any], task: Any = None,
                        **_: Any) -> dict[str, Any] | None:
    if options.get("queue"):
        return None  # an explicit queue wins
    from app.celery_app import celery

    registered = task or celery.tasks.get(name)
    queue = getattr(registered, "queue", None)
    return {"queue": queue} if queue else None
