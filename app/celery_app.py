"""The Celery application (`celery -A app ...` finds it as ``app.celery``)."""
from __future__ import annotations

import importlib
from typing import Any

from celery import Celery
from celery.signals import worker_init, worker_process_init, worker_process_shutdown

from app.celeryconfig import build_config
from app.settings import get_settings

# Every module that defines tasks; the worker, beat and `celery call` import them all
# so routing by task name works in every process.
TASK_MODULES = (
    "tasks.canary",
    "tasks.maintenance",
    "tasks.catalogue",
    "tasks.analysis",
    "tasks.farcaster",
)


class SwitchyardCelery(Celery):
    def send_task(self, name: str, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        # send_task by name would subscribe to a result that an ignore_result task never
        # stores; long-running producers (the API, `celery call`) would leak subscriptions.
        if options.get("ignore_result") is None:
            task = self.tasks.get(name)
            options["ignore_result"] = task.ignore_result if task is not None else self.conf.task_ignore_result
        return super().send_task(name, args, kwargs, **options)


def create_app() -> Celery:
    settings = get_settings()
    app = SwitchyardCelery("switchyard", task_cls="tasks.base:SwitchyardTask", include=list(TASK_MODULES))
    app.config_from_object(build_config(settings))
    from app.beat_schedule import build_schedule

    app.conf.beat_schedule = build_schedule(settings)
    from app.jobs import signals  # noqa: F401  - connects the jobs-table recorder
    from app.dashboard import worker_pauses  # noqa: F401  - workers honour queues paused in the dashboard

    return app


celery = create_app()

# Import every task module now, not only in workers: routing by task name and
# `celery call` need the registry in producers too.
for _module in TASK_MODULES:
    importlib.import_module(_module)


@worker_init.connect
def _tune_gc_before_fork(**_: object) -> None:
    from app import gc_tuning

    gc_tuning.tune_worker_process()


@worker_process_init.connect
def _fresh_connections(**_: object) -> None:
    # Prefork children must not reuse the parent's PostgreSQL sockets.
    from app import gc_tuning
    from app.db.session import dispose_engines

    dispose_engines()
    gc_tuning.tune_worker_process()  # freeze what the child built at start too


@worker_process_shutdown.connect
def _retire_leases(**_: object) -> None:
    # A process leaving on purpose frees its leases now, not after LEASE_TTL_SECONDS.
    from app.platform.lease_worker import stop_process_heartbeat

    stop_process_heartbeat()
