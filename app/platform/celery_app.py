"""The Celery application (`celery -A app ...` finds it as ``app.celery``) and its extensions."""
from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

from celery import Celery

from app import pipelines as registry
from app.platform.beat import build_schedule
from app.platform.celeryconfig import build_config
from app.platform.extensions import Extension
from app.platform.job_history import JobHistory
from app.platform.job_logs import JobLogs
from app.platform.pipeline import Pipeline
from app.platform.schedules import BeatSwitches
from app.platform.worker_hooks import FreshConnections, GcTuning, LeaseRetirement
from app.platform.worker_pauses import QueuePauses
from app.settings import get_settings


# What the platform adds to Celery, in hook order (a child disposes inherited connections,
# then freezes its heap).
EXTENSIONS: tuple[Extension, ...] = (
    JobHistory(),  # the jobs table
    JobLogs(),  # what a task logs while it runs, kept with its job
    BeatSwitches(),  # beat entries disabled from the dashboard stay disabled
    QueuePauses(),  # workers honour queues paused in the dashboard or the CLI
    FreshConnections(),
    GcTuning(),
    LeaseRetirement(),
)


class SwitchyardCelery(Celery):
    def send_task(self, name: str, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        # send_task by name would subscribe to a result that an ignore_result task never
        # stores; long-running producers (the API, `celery call`) would leak subscriptions.
        if options.get("ignore_result") is None:
            task = self.tasks.get(name)
            options["ignore_result"] = task.ignore_result if task is not None else self.conf.task_ignore_result
        return super().send_task(name, args, kwargs, **options)


def create_app(pipelines: Sequence[Pipeline] | None = None,
               extensions: Sequence[Extension] = EXTENSIONS) -> Celery:
    """The app for these pipelines (all of app.pipelines by default) with these extensions installed.

    Every pipeline's task modules are included: the worker, beat and `celery call` import them all
    so routing by task name works in every process."""
    pipelines = tuple(registry.PIPELINES if pipelines is None else pipelines)
    settings = get_settings()
    app = SwitchyardCelery("switchyard", task_cls="app.platform.task:SwitchyardTask",
                           include=registry.task_modules(pipelines))
    app.config_from_object(build_config(settings))
    app.conf.beat_schedule = build_schedule(settings, pipelines)
    for extension in extensions:
        extension.install(app)
    return app


celery = create_app()

# Import every task module now, not only in workers: routing by task name and
# `celery call` need the registry in producers too.
for _module in celery.conf.include:
    importlib.import_module(_module)
