"""The base class of every Switchyard task: progress reporting into the jobs table."""
from __future__ import annotations

import logging
import time
from typing import Any

from celery import Task

from app.platform import retry
from app.platform.arguments import validating
from app.platform.jobs import recorder

log = logging.getLogger(__name__)


class SwitchyardTask(Task):
    queue_name: str | None = None  # the queue this task is routed to (app.platform.routing)
    default_priority: int | None = None  # broker priority when the sender gives none (0 is highest)
    # Throttle progress writes: a backfill may report thousands of pages.
    progress_min_interval = 0.5
    validate_arguments = True  # by the task function's type hints (app.platform.arguments)
    retry_policy: retry.RetryPolicy | None = None  # app.platform.retry; bound tasks only

    @classmethod
    def on_bound(cls, app: Any) -> None:
        """Wrap a task function's body, once: argument validation inside the retry policy, so a
        bad argument is never retried. Celery built the send-time signature check from the
        unwrapped function already."""
        super().on_bound(app)
        if not cls.__dict__.get("_decorated") or "_unwrapped_run" in cls.__dict__:
            return
        run = cls.__dict__["run"]
        bound = not isinstance(run, staticmethod)
        fun = run if bound else run.__func__
        cls._unwrapped_run = run
        if cls.validate_arguments:
            fun = validating(fun, cls.name, bound=bound)
        if cls.retry_policy is not None:
            if not bound:
                raise TypeError(f"{cls.name}: a task with a retry_policy must be bound (bind=True)")
            fun = retry.applying(cls.retry_policy, fun)
        cls.run = fun if bound else staticmethod(fun)

    def report_progress(self, percent: float | None = None, **info: Any) -> None:
        """Record progress (0-100 and/or free-form counters such as step="parse", pages=3).

        Written to the jobs table (durable, what the dashboard reads) and sent as a
        ``task-progress`` event for live monitors. Calls closer together than
        ``progress_min_interval`` are dropped, except 0 and 100.
        """
        job_id = self.request.id
        if not job_id:
            return  # called eagerly / outside a worker
        now = time.monotonic()
        last = getattr(self.request, "_last_progress_at", 0.0)
        boundary = percent is not None and (percent <= 0 or percent >= 100)
        if not boundary and now - last < self.progress_min_interval:
            return
        self.request._last_progress_at = now
        pct = None if percent is None else int(max(0, min(100, percent)))
        try:
            recorder.record_progress(job_id, pct, info or None)
        except Exception:  # noqa: BLE001 - progress is informative; never fail the task for it
            log.exception("could not record progress for %s", job_id)
        try:
            self.send_event("task-progress", progress=pct, info=info)
        except Exception:  # noqa: BLE001
            log.debug("task-progress event not sent", exc_info=True)
