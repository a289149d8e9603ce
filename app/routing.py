"""Route each task to the queue its definition names.

Tasks declare ``queue_name=...`` where they are defined (next to the code, so a
reader sees where it runs); this router applies it to every way of sending
(``apply_async``, ``send_task``, ``celery call``). Celery's own ``queue`` task
attribute is deprecated in favour of routers, hence the separate name.
"""
from __future__ import annotations

from typing import Any


def route_by_task_queue(name: str, args: Any, kwargs: Any, options: dict[str, Any], task: Any = None,
                        **_: Any) -> dict[str, Any] | None:
    if options.get("queue"):
        return None  # an explicit queue wins
    from app.celery_app import celery

    registered = task or celery.tasks.get(name)
    queue = getattr(registered, "queue_name", None)
    return {"queue": queue} if queue else None
