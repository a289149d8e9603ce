"""The task retry policy every pipeline's tasks use: which errors retry, which never do, how long
to wait (jittered exponential backoff, or a server's Retry-After) and how often to try.

A task declares its policy (``@celery.task(..., bind=True, retry_policy=POLICY)``: the platform's
task class wraps the task body once, at registration), or calls retry_or_fail itself where its
pipeline keeps its own failure records. A permanent error (bad arguments, a malformed family, a
refused page: anything with a true ``permanent`` attribute or listed in ``never_retry``) fails at
once. The final failure, permanent or after the last attempt, is raised: the job history records
it with its reason (the task_failure signal) and the attempts it took.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from celery.exceptions import Ignore, Reject, Retry

from app.platform.http import backoff_delay


@dataclass(frozen=True)
class RetryPolicy:
    retry_on: tuple[type[BaseException], ...]
    never_retry: tuple[type[BaseException], ...] = ()
    max_attempts: int = 6  # executions, the first included
    backoff_initial: float = 5.0  # seconds before the first retry (jittered: half to all of it)
    backoff_max: float = 300.0  # also caps a server's Retry-After

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")

    def is_transient(self, exc: BaseException) -> bool:
        """Whether another attempt may succeed."""
        if getattr(exc, "permanent", False) or isinstance(exc, self.never_retry):
            return False
        return isinstance(exc, self.retry_on)

    def will_retry(self, exc: BaseException, attempt: int) -> bool:
        """Whether failed attempt number ``attempt`` (1-based) is followed by another."""
        return attempt < self.max_attempts and self.is_transient(exc)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds before the retry of failed attempt ``attempt``; a server's Retry-After lengthens it (capped)."""
        delay = backoff_delay(attempt, initial=self.backoff_initial, cap=self.backoff_max)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.backoff_max))
        return delay

    def final_reason(self, exc: BaseException, attempt: int) -> str:
        """What the failure record says: the error, and the attempts it took when it was transient."""
        described = f"{type(exc).__name__}: {exc}"
        return f"failed after {attempt} attempts: {described}" if self.is_transient(exc) else described


def retry_or_fail(task: Any, exc: Exception, policy: RetryPolicy, *,
                  on_failure: Callable[[str, bool], None] | None = None,
                  on_final: Callable[[str], None] | None = None) -> NoReturn:
    """Re-send ``task`` after the policy's delay if ``exc`` is transient and attempts remain, else
    raise ``exc``: the job history records the failure. For a pipeline's own records,
    ``on_failure(error, final)`` runs on every failure and ``on_final(reason)`` on the last."""
    attempt = task.request.retries + 1
    final = not policy.will_retry(exc, attempt)
    if on_failure is not None:
        on_failure(f"{type(exc).__name__}: {exc}", final)
    if final:
        if on_final is not None:
            on_final(policy.final_reason(exc, attempt))
        raise exc
    countdown = policy.delay(attempt, getattr(exc, "retry_after", None))
    raise task.retry(exc=exc, countdown=countdown, max_retries=policy.max_attempts - 1)


# Control flow of Celery itself, never a failure of the task.
_CELERY_CONTROL = (Retry, Ignore, Reject)


def applying(policy: RetryPolicy, run: Callable[..., Any]) -> Callable[..., Any]:
    """A bound task's ``run(self, ...)`` under ``policy``."""

    @functools.wraps(run)
    def run_with_policy(task: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return run(task, *args, **kwargs)
        except _CELERY_CONTROL:
            raise
        except Exception as exc:
            retry_or_fail(task, exc, policy)

    return run_with_policy
