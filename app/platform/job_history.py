"""The JobHistory extension: Celery's task signals feed the jobs table.

Recording is best-effort: a database hiccup is logged and never fails a publish
or a task, because the broker, not this table, is the source of truth for
delivery.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from app.platform.extensions import Extension
from app.platform.jobs import recorder
from app.platform.jobs.models import JobState

log = logging.getLogger(__name__)


def _best_effort(handler: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            handler(*args, **kwargs)
        except Exception:  # noqa: BLE001 - history must never break delivery
            log.exception("jobs table: could not record %s", handler.__name__)

    return wrapper


def _parse_eta(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


class JobHistory(Extension):
    """One jobs-table row per task: published, started, retried, finished, revoked or rejected."""

    name = "job history"

    @_best_effort
    def before_publish(self, headers: dict[str, Any] | None = None, properties: dict[str, Any] | None = None,
                       **_: Any) -> None:
        """after_task_publish gets no message properties: hand the priority over in the headers."""
        if headers is not None and properties and properties.get("priority") is not None:
            headers["priority"] = properties["priority"]

    @_best_effort
    def after_publish(self, sender: str | None = None, body: Any = None, routing_key: str | None = None,
                     headers: dict[str, Any] | None = None, properties: dict[str, Any] | None = None,
                     **_: Any) -> None:
        headers = headers or {}
        if "id" not in headers:  # protocol 1 messages are not produced by this app
            return
        args, kwargs = (body[0], body[1]) if isinstance(body, (list, tuple)) and len(body) >= 2 else (None, None)
        recorder.record_published(
            job_id=headers["id"],
            name=headers.get("task") or sender or "?",
            queue=routing_key,
            args=args,
            kwargs=kwargs,
            priority=headers.get("priority", (properties or {}).get("priority")),
            parent_id=headers.get("parent_id"),
            root_id=headers.get("root_id"),
            eta=_parse_eta(headers.get("eta")),
        )


    @_best_effort
    def before_task(self, task_id: Any = None, task: Any = None, args: Any = None, kwargs: Any = None,
                   **_: Any) -> None:
        request = task.request
        request.job_attempt = recorder.record_started(
            job_id=task_id,
            name=task.name,
            queue=(request.delivery_info or {}).get("routing_key"),
            worker=request.hostname,
            args=list(args) if args is not None else None,
            kwargs=kwargs,
            parent_id=request.parent_id,
            root_id=request.root_id,
            retries=request.retries or 0,
            priority=(request.delivery_info or {}).get("priority"),
        )


    @_best_effort
    def after_success(self, sender: Any = None, result: Any = None, **_: Any) -> None:
        recorder.record_succeeded(sender.request.id, result, _attempt(sender.request))


    @_best_effort
    def after_retry(self, request: Any = None, reason: Any = None, einfo: Any = None, **_: Any) -> None:
        recorder.record_failed(request.id, JobState.RETRY, _describe(reason),
                               einfo.traceback if einfo is not None else None, _attempt(request))


    @_best_effort
    def after_failure(self, sender: Any = None, task_id: Any = None, exception: BaseException | None = None,
                  einfo: Any = None, **_: Any) -> None:
        request = getattr(sender, "request", None)
        attempt = _attempt(request) if request is not None and request.id == task_id else None
        recorder.record_failed(task_id, JobState.FAILURE, _describe(exception),
                               einfo.traceback if einfo is not None else None, attempt)


    @_best_effort
    def after_revoke(self, request: Any = None, terminated: bool = False, expired: bool = False, **_: Any) -> None:
        why = "expired" if expired else ("terminated" if terminated else "revoked")
        recorder.record_failed(request.id, JobState.REVOKED, why, None)


    @_best_effort
    def after_unknown(self, name: str | None = None, id: Any = None, message: Any = None, exc: Any = None,
                   **_: Any) -> None:
        queue = (getattr(message, "delivery_info", None) or {}).get("routing_key")
        recorder.record_rejected(job_id=id, name=name or "?", queue=queue, error=f"unknown task: {exc!r}")


    @_best_effort
    def after_reject(self, message: Any = None, exc: Any = None, **_: Any) -> None:
        """The worker discarded a message it cannot accept (e.g. pickle on a JSON-only worker)."""
        headers = getattr(message, "headers", None) or {}
        if "id" not in headers:
            return
        recorder.record_rejected(
            job_id=headers["id"],
            name=headers.get("task") or "?",
            queue=(getattr(message, "delivery_info", None) or {}).get("routing_key"),
            error=f"{_describe(exc)} (content type {getattr(message, 'content_type', None)!r})",
        )


def _attempt(request: Any) -> int | None:
    """The attempt number task_prerun stored on this execution's request, if it ran here."""
    return getattr(request, "job_attempt", None)


def _describe(exc: Any) -> str:
    if isinstance(exc, BaseException):
        return f"{type(exc).__name__}: {exc}"
    return str(exc)
