"""The JobLogs extension: log lines a task writes while it runs are kept with its job.

A handler on the worker process's root logger collects the records of the task running
in that thread (Celery's current task), at most MAX_LINES per attempt, and the attempt's
end (success, retry, failure) writes them in one statement. Best effort, like the job
history: a database hiccup loses the lines, never the task.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone
from typing import Any

from celery._state import get_current_task

from app.platform.extensions import Extension
from app.platform.jobs import recorder

log = logging.getLogger(__name__)

MAX_LINES = 200  # per attempt: the first ones are kept, then how many more there were
MAX_CHARS = 2000  # per line


class _Buffer:
    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []
        self.dropped = 0


class JobLogHandler(logging.Handler):
    """Buffers the running task's records by task id (a prefork child runs one task at a time;
    a threads pool runs several, each in its own thread, which Celery's current task follows)."""

    def __init__(self, level: int = logging.INFO) -> None:
        super().__init__(level)
        self._buffers: dict[str, _Buffer] = {}
        self._lock = threading.Lock()

    def begin(self, task_id: str) -> None:
        with self._lock:
            self._buffers[task_id] = _Buffer()

    def end(self, task_id: str) -> _Buffer | None:
        with self._lock:
            return self._buffers.pop(task_id, None)

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(__name__):
            return  # never collect our own complaints about writing the lines
        task = get_current_task()
        task_id = getattr(getattr(task, "request", None), "id", None)
        buffer = self._buffers.get(task_id) if task_id else None
        if buffer is None:
            return
        if len(buffer.lines) >= MAX_LINES:
            buffer.dropped += 1
            return
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not break the task
            message = str(record.msg)
        buffer.lines.append({"logged_at": datetime.fromtimestamp(record.created, tz=timezone.utc),
                             "level": record.levelname[:10], "logger": record.name[:200],
                             "message": message[:MAX_CHARS]})


class JobLogs(Extension):
    name = "job logs"

    def __init__(self) -> None:
        self.handler = JobLogHandler()

    def _attach(self) -> None:
        root = logging.getLogger()
        if self.handler not in root.handlers:
            root.addHandler(self.handler)

    def worker_boot(self, **_: Any) -> None:  # solo and threads pools run tasks in this process
        self._attach()

    def worker_process_boot(self, **_: Any) -> None:  # each prefork child
        self._attach()

    def before_task(self, task_id: Any = None, **_: Any) -> None:
        if task_id:
            self.handler.begin(task_id)

    def _flush(self, request: Any) -> None:
        task_id = getattr(request, "id", None)
        buffer = self.handler.end(task_id) if task_id else None
        if task_id is None or buffer is None or not (buffer.lines or buffer.dropped):
            return
        lines = buffer.lines
        if buffer.dropped:
            lines = [*lines, {"logged_at": datetime.now(timezone.utc), "level": "INFO", "logger": __name__,
                              "message": f"{buffer.dropped} more log lines of this attempt were not kept"}]
        try:
            recorder.record_logs(task_id, getattr(request, "job_attempt", None), lines)
        except Exception:  # noqa: BLE001 - logs are best effort
            log.exception("job logs: could not record %d lines of %s", len(lines), task_id)

    def after_success(self, sender: Any = None, **_: Any) -> None:
        self._flush(getattr(sender, "request", None))

    def after_retry(self, request: Any = None, **_: Any) -> None:
        self._flush(request)

    def after_failure(self, sender: Any = None, **_: Any) -> None:
        self._flush(getattr(sender, "request", None))
