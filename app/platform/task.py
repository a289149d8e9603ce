"""The base class of every Switchyard task: progress reporting into the jobs table, and leases.

Every task a worker runs holds a lease (app/platform/leases.py) unless it sets ``leased = False``
(beat-driven polls and sweeps that the next tick repeats anyway). The lease key defaults to
the task id; ``lease_key`` names the unit of work instead ("{request_id}") when several
messages may carry the same work, so only one of them runs it at a time.
"""
from __future__ import annotations

import inspect
import logging
import os
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
    leased = True  # workers hold a lease on the work while it runs (app/platform/leases.py)
    lease_key: str | None = None  # a str.format template over the task's arguments; None: the task id

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        request = self.request
        if not self.leased or request.called_directly or request.is_eager or not request.id:
            return super().__call__(*args, **kwargs)
        from app.db import get_engine
        from app.platform import lease_worker, leases

        engine = get_engine()
        heartbeat = lease_worker.process_heartbeat(engine, request.hostname or f"worker@{os.uname().nodename}")
        delivery = request.delivery_info or {}
        work = leases.Work(task_id=request.id, task_name=self.name, args=list(args), kwargs=dict(kwargs),
                           queue=delivery.get("routing_key"), priority=delivery.get("priority"),
                           delivery_tag=(getattr(request, "properties", None) or {}).get("delivery_tag"))

        def duplicate() -> dict[str, Any]:
            log.info("%s %s: skipped, its lease is held by a live worker", self.name, request.id)
            return {"skipped": "running elsewhere (lease held by a live worker)"}

        def lost(exc: leases.LeaseLost) -> dict[str, Any]:
            log.warning("%s %s: stopped, its lease was taken over: %s", self.name, request.id, exc)
            return {"fenced": str(exc)}

        return lease_worker.run_leased(engine, heartbeat, self.name, self.lease_key_for(args, kwargs), work,
                                       lambda: super(SwitchyardTask, self).__call__(*args, **kwargs),
                                       duplicate, lost)

    def retry(self, *args: Any, **kwargs: Any) -> Any:
        # The retry's message may start at once in another process: free the lease before it is sent.
        from app.platform import leases

        held = leases.current.get()
        if held is not None:
            from app.platform import lease_worker

            lease_worker.release_early(held)
        return super().retry(*args, **kwargs)

    def lease_key_for(self, args: tuple[Any, ...] | list[Any], kwargs: dict[str, Any]) -> str:
        if self.lease_key is None:
            return str(self.request.id)
        try:
            # The task function's own signature, not its validation and retry wrappers'.
            function: Any = getattr(self, "_unwrapped_run", None) or self.run
            bound = inspect.signature(function).bind(*args, **kwargs)
        except TypeError:
            return str(self.request.id)  # the task refuses these arguments itself
        bound.apply_defaults()
        return self.lease_key.format(**bound.arguments)

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
