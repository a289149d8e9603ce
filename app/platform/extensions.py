"""Extensions: what the platform adds to Celery, each one object with named hooks.

In the spirit of Dramatiq's middleware: a subclass overrides the hooks it needs, and
``install(app)`` connects exactly those to Celery's signals. The list of extensions is
written where the app is created (app.platform.celery_app.EXTENSIONS); importing a
module never connects anything.

Celery's signals are process-wide, so each hook is connected once per extension class
(a ``dispatch_uid``), however many apps a process creates.
"""
from __future__ import annotations

from typing import Any, ClassVar

from celery import Celery, signals
from celery.utils.dispatch import Signal

# hook name -> the Celery signal it is connected to
HOOKS: dict[str, Signal] = {
    "worker_boot": signals.worker_init,  # the worker's main process, before the pool forks
    "worker_process_boot": signals.worker_process_init,  # each prefork child, after the fork
    "worker_process_exit": signals.worker_process_shutdown,  # a child (or the solo pool) exiting on purpose
    "worker_ready": signals.worker_ready,  # consuming has started; no message fetched yet
    "beat_boot": signals.beat_init,  # beat starts, before its scheduler stores the entries
    "before_publish": signals.before_task_publish,  # the message is built, not yet sent
    "after_publish": signals.after_task_publish,
    "before_task": signals.task_prerun,
    "after_success": signals.task_success,
    "after_retry": signals.task_retry,
    "after_failure": signals.task_failure,
    "after_revoke": signals.task_revoked,
    "after_unknown": signals.task_unknown,  # a message naming no registered task
    "after_reject": signals.task_rejected,  # a message the worker cannot accept (e.g. pickle)
}


class Extension:
    """Base class: override any hook in HOOKS (each receives the signal's keyword arguments)."""

    name: ClassVar[str] = ""

    def setup(self, app: Celery) -> None:
        """Called once when the app is created (e.g. to register a remote-control command)."""

    def hooks(self) -> list[str]:
        """The hooks this extension overrides."""
        return [hook for hook in HOOKS if getattr(type(self), hook, None) is not getattr(Extension, hook, None)]

    def install(self, app: Celery) -> None:
        self.setup(app)
        for hook in self.hooks():
            HOOKS[hook].connect(getattr(self, hook), weak=False,
                                dispatch_uid=f"switchyard:{type(self).__qualname__}.{hook}")

    def uninstall(self) -> None:
        for hook in self.hooks():
            HOOKS[hook].disconnect(dispatch_uid=f"switchyard:{type(self).__qualname__}.{hook}")

    # The hooks (no-ops here; hooks() lists the ones a subclass overrides).
    def worker_boot(self, **kwargs: Any) -> None: ...
    def worker_process_boot(self, **kwargs: Any) -> None: ...
    def worker_ready(self, **kwargs: Any) -> None: ...
    def beat_boot(self, **kwargs: Any) -> None: ...
    def before_publish(self, **kwargs: Any) -> None: ...
    def after_publish(self, **kwargs: Any) -> None: ...
    def before_task(self, **kwargs: Any) -> None: ...
    def after_success(self, **kwargs: Any) -> None: ...
    def after_retry(self, **kwargs: Any) -> None: ...
    def after_failure(self, **kwargs: Any) -> None: ...
    def after_revoke(self, **kwargs: Any) -> None: ...
    def after_unknown(self, **kwargs: Any) -> None: ...
    def after_reject(self, **kwargs: Any) -> None: ...
