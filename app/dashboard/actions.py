"""Operator actions on jobs: retry, retry all failed, run a delayed job now, add, remove, cancel.

Plain functions (no HTTP): the dashboard's handlers, tests and scripts call them.
A job sent again gets a new task id and a dashboard_resends row linking it to the
job it replaces; that row is unique per original job and written in the same
transaction as the send, so a double click or two operators never run a job twice.
"""
from __future__ import annotations

import inspect
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from celery.utils import uuid
from sqlalchemy import exists, select, tuple_
from sqlalchemy.dialects.postgresql import insert

from app.dashboard.models import Resend, ResendReason
from app.platform.pauses import check_queue
from app.db import get_engine
from app.platform.jobs import recorder
from app.platform.jobs.models import Job, JobState

log = logging.getLogger(__name__)

jobs = Job.__table__
resends = Resend.__table__

RETRYABLE = (JobState.FAILURE, JobState.REVOKED)
DELAYED = (JobState.PENDING, JobState.RETRY)  # with an ETA: published, not started
REMOVABLE = (JobState.PENDING, JobState.RETRY, JobState.FAILURE, JobState.REVOKED, JobState.REJECTED)
CANCELLABLE = (JobState.STARTED,)


def stops_at_once(task: Any) -> bool:
    """Whether cancelling a running job of this task may kill its process (revoke terminate=True).

    Only tasks that say so (``terminable=True``): killing a process mid-task is safe where the
    task's writes are one transaction at its end and nothing else waits for it. Others are revoked:
    the running attempt finishes, and no retry or redelivery of it runs again.
    """
    return bool(getattr(task, "terminable", False))
_STAND_IN_KEYS = ({"truncated", "bytes", "preview"}, {"unserializable"})  # app.platform.jobs.recorder._json_text


class ActionError(ValueError):
    """An action refused, with a message for the operator."""


@dataclass(frozen=True)
class StoredJob:
    id: str
    name: str
    queue: str | None
    state: str
    args: Any
    kwargs: Any
    priority: int | None
    attempts: int
    eta: datetime | None


def _load(job_id: str) -> StoredJob:
    stmt = select(jobs.c.id, jobs.c.name, jobs.c.queue, jobs.c.state, jobs.c.args, jobs.c.kwargs,
                  jobs.c.priority, jobs.c.attempts, jobs.c.eta).where(jobs.c.id == job_id)
    with get_engine().connect() as conn:
        row = conn.execute(stmt).mappings().first()
    if row is None:
        raise ActionError(f"no job {job_id!r} in the jobs table")
    return StoredJob(**row)


def _celery() -> Any:
    from app.platform.celery_app import celery

    return celery


def _stored_arguments(job: StoredJob) -> tuple[list[Any], dict[str, Any]]:
    """The job's arguments as recorded, refusing stand-ins for ones too large to record."""
    args, kwargs = job.args, job.kwargs
    if args is None and kwargs is None:
        raise ActionError(f"job {job.id}: its arguments were never recorded, so it cannot be sent again")
    if not isinstance(args, (list, type(None))) or not isinstance(kwargs, (dict, type(None))) \
            or (isinstance(kwargs, dict) and set(kwargs) in _STAND_IN_KEYS):
        raise ActionError(f"job {job.id}: its arguments were too large or not JSON and were stored "
                          f"truncated, so it cannot be sent again from the dashboard")
    return list(args or []), dict(kwargs or {})


def _send_again(job: StoredJob, reason: str, by: str | None, producer: Any = None,
                arguments: tuple[list[Any], dict[str, Any]] | None = None) -> str:
    """Send the job's task again under a new id, linked to it; refuse if it was already sent again."""
    args, kwargs = arguments if arguments is not None else _stored_arguments(job)
    new_id = uuid()
    link = (insert(resends).values(job_id=new_id, original_id=job.id, reason=reason, requested_by=by)
            .on_conflict_do_nothing(index_elements=[resends.c.original_id]).returning(resends.c.job_id))
    with get_engine().begin() as conn:
        if conn.execute(link).first() is None:
            existing = conn.execute(select(resends.c.job_id, resends.c.reason)
                                    .where(resends.c.original_id == job.id)).first()
            how = "run early" if existing and existing.reason == ResendReason.RUN_NOW else "retried"
            raise ActionError(f"job {job.id} was already {how} as {existing.job_id if existing else '?'}")
        # The attempt count goes on (as BullMQ's retry keeps attemptsMade): a task's own retry
        # limit counts the attempts before, so a retried job that fails again stays failed.
        _celery().send_task(job.name, args, kwargs, task_id=new_id, queue=job.queue, priority=job.priority,
                            retries=job.attempts, producer=producer)
    return new_id


def retry_job(job_id: str, *, by: str | None = None) -> str:
    """Send a failed (or revoked) job again; returns the new job's id."""
    job = _load(job_id)
    if job.state not in RETRYABLE:
        raise ActionError(f"job {job_id} is {job.state}: only failed or revoked jobs can be retried")
    new_id = _send_again(job, ResendReason.RETRY, by)
    log.info("dashboard: %s retried job %s (%s) as %s", by or "-", job_id, job.name, new_id)
    return new_id


def retry_with_arguments(job_id: str, args_json: str | None, kwargs_json: str | None, *,
                         by: str | None = None) -> str:
    """Send a failed (or revoked) job again with arguments an operator edited (recorded as such)."""
    job = _load(job_id)
    if job.state not in RETRYABLE:
        raise ActionError(f"job {job_id} is {job.state}: only failed or revoked jobs can be retried")
    args, kwargs = _parse_json(args_json, list, "args"), _parse_json(kwargs_json, dict, "kwargs")
    _check_signature(job.name, args, kwargs)
    new_id = _send_again(job, ResendReason.RETRY_EDITED, by, arguments=(args, kwargs))
    log.info("dashboard: %s retried job %s (%s) with edited arguments as %s", by or "-", job_id, job.name, new_id)
    return new_id


def retry_failed(queue: str, *, by: str | None = None, batch: int = 500) -> int:
    """Retry every failed job of a queue not retried yet; returns how many were sent."""
    check_queue(queue)
    not_retried = ~exists().where(resends.c.original_id == jobs.c.id)
    sent, after = 0, None
    with _celery().producer_or_acquire() as producer:  # one broker connection for the whole batch
        while True:
            stmt = (select(jobs.c.id, jobs.c.name, jobs.c.queue, jobs.c.state, jobs.c.args, jobs.c.kwargs,
                           jobs.c.priority, jobs.c.attempts, jobs.c.eta, jobs.c.updated_at)
                    .where(jobs.c.queue == queue, jobs.c.state == JobState.FAILURE, not_retried)
                    .order_by(jobs.c.updated_at, jobs.c.id).limit(batch))
            if after is not None:
                stmt = stmt.where(tuple_(jobs.c.updated_at, jobs.c.id) > after)
            with get_engine().connect() as conn:
                rows = conn.execute(stmt).mappings().all()
            for row in rows:
                job = StoredJob(**{k: v for k, v in row.items() if k != "updated_at"})
                try:
                    _send_again(job, ResendReason.RETRY, by, producer=producer)
                    sent += 1
                except ActionError as exc:  # not resendable (arguments not stored) or just retried
                    log.warning("dashboard: retry all %s: %s", queue, exc)
            if len(rows) < batch:
                break
            after = (rows[-1]["updated_at"], rows[-1]["id"])
    log.info("dashboard: %s retried %d failed jobs of %s", by or "-", sent, queue)
    return sent


def run_now(job_id: str, *, redis_client: Any, by: str | None = None) -> str:
    """Run a delayed (ETA) job now: send it again without its ETA, then revoke the delayed one."""
    job = _load(job_id)
    if job.state not in DELAYED or job.eta is None:
        raise ActionError(f"job {job_id} is not waiting for its ETA (state {job.state}, "
                          f"eta {job.eta or 'none'}): only delayed jobs can be run now")
    # Sent before the original is revoked: at worst both run (tasks are idempotent), never neither.
    new_id = _send_again(job, ResendReason.RUN_NOW, by)
    from app.dashboard import waiting_messages

    # Still in Redis (no worker took it, e.g. the queue is paused): take it out, so a worker started
    # later, which never heard the revoke, cannot run it.
    if job.queue:
        waiting_messages.remove(redis_client, job.queue, job_id)
    _celery().control.revoke(job_id)  # a worker holding it until its ETA drops it
    recorder.record_failed(job_id, JobState.REVOKED, f"run now as {new_id} by {by or '-'}", None)
    log.info("dashboard: %s ran delayed job %s (%s) now as %s", by or "-", job_id, job.name, new_id)
    return new_id


def remove_job(job_id: str, *, redis_client: Any, by: str | None = None) -> str:
    """Remove a job that is not running: out of its queue (waiting or delayed) and out of the history."""
    job = _load(job_id)
    if job.state not in REMOVABLE:
        raise ActionError(f"job {job_id} is {job.state}: a running job is cancelled, not removed; "
                          f"a finished one is cleaned with its queue's clean")
    taken = False
    if job.state in DELAYED and job.queue:
        from app.dashboard import waiting_messages

        taken = waiting_messages.remove(redis_client, job.queue, job_id)
        # A worker may hold it (an ETA, a prefetch): it drops a revoked id when it comes to run it.
        _celery().control.revoke(job_id)
    with get_engine().begin() as conn:
        conn.execute(jobs.delete().where(jobs.c.id == job_id))
    where = "taken out of its queue and " if taken else ""
    log.info("dashboard: %s removed job %s (%s, %s)", by or "-", job_id, job.name, job.state)
    return f"{where}removed"


def cancel_job(job_id: str, *, by: str | None = None) -> str:
    """Cancel a running job: terminate it where its task allows that, else revoke it (see stops_at_once)."""
    job = _load(job_id)
    if job.state not in CANCELLABLE:
        raise ActionError(f"job {job_id} is {job.state}: only a running job is cancelled "
                          f"(a waiting or failed one is removed)")
    task = _celery().tasks.get(job.name)
    terminate = stops_at_once(task)
    _celery().control.revoke(job_id, terminate=terminate, signal="SIGTERM")
    log.info("dashboard: %s cancelled job %s (%s, terminate=%s)", by or "-", job_id, job.name, terminate)
    return ("stopped: its process was told to end" if terminate
            else "revoked: the running attempt finishes, and it is not run again")


def known_tasks() -> list[str]:
    """Task names an operator may send (Celery's own celery.* tasks are internal)."""
    return sorted(name for name in _celery().tasks if not name.startswith("celery."))


def _parse_json(text: str | None, kind: type, field: str) -> Any:
    text = (text or "").strip()
    if not text:
        return kind()
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ActionError(f"{field}: not valid JSON ({exc})") from None
    if not isinstance(value, kind):
        expected = "a JSON array, e.g. [1, \"a\"]" if kind is list else "a JSON object, e.g. {\"key\": 1}"
        raise ActionError(f"{field}: must be {expected}, got {type(value).__name__}")
    return value


def _check_signature(task_name: str, args: list[Any], kwargs: dict[str, Any]) -> None:
    """Refuse a call that would fail with TypeError in the worker."""
    task = _celery().tasks.get(task_name)
    if task is None:
        raise ActionError(f"unknown task {task_name!r}: not a task of this app")
    try:
        inspect.signature(task.run).bind(*args, **kwargs)
    except TypeError as exc:
        raise ActionError(f"{task_name}: arguments do not match its signature{inspect.signature(task.run)}: {exc}") \
            from None


def add_job(task_name: str, args_json: str | None = None, kwargs_json: str | None = None, *,
            priority: int | None = None, countdown: float | None = None, by: str | None = None) -> str:
    """Send a new job of a registered task with JSON arguments; returns its id."""
    task_name = (task_name or "").strip()
    task = _celery().tasks.get(task_name)
    if task is None or task_name.startswith("celery."):
        raise ActionError(f"unknown task {task_name!r}: not a task of this app "
                          f"(the form lists the {len(known_tasks())} registered tasks)")
    args = _parse_json(args_json, list, "args")
    kwargs = _parse_json(kwargs_json, dict, "kwargs")
    _check_signature(task_name, args, kwargs)
    if priority is not None and not 0 <= priority <= 9:
        raise ActionError("priority: must be 0 (highest) to 9")
    if countdown is not None and countdown < 0:
        raise ActionError("delay: must be 0 or more seconds")
    result = _celery().send_task(task_name, args, kwargs, priority=priority, countdown=countdown or None)
    log.info("dashboard: %s added job %s (%s)", by or "-", result.id, task_name)
    return result.id
