"""Route each task to the queue its definition names.

Tasks declare ``queue_name=...`` (and optionally ``default_priority=...``)
where they are defined, next to the code, so a reader sees where it runs; this
router applies them to every way of sending (``apply_async``, ``send_task``,
``celery call``). Celery's own ``queue`` task attribute is deprecated in
favour of routers, hence the separate name.
"""
from __future__ import annotations

from typing import Any


def route_by_task_queue(name: str, args: Any, kwargs: Any, options: dict[str, Any], task: Any = None,
                        **_: Any) -> dict[str, Any] | None:
    from app.platform.celery_app import celery

    registered = task or celery.tasks.get(name)
    route: dict[str, Any] = {}
    queue = getattr(registered, "queue_name", None)
    if queue and not options.get("queue"):  # an explicit queue wins
        route["queue"] = queue
    priority = getattr(registered, "default_priority", None)
    if priority is not None and options.get("priority") is None:
        # On Redis a message without priority lands in the highest-priority list.
        route["priority"] = priority
    return route or None
