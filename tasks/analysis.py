"""Analysis jobs: `analysis.analyze` fetches a tool's page and stores a structured analysis.

Thin: validate the arguments, run app.analysis.pipeline, keep the job's record
in `analysis_jobs` (status, progress, attempts, result or error). Network
errors are retried with exponential backoff and jitter, up to
ANALYSIS_MAX_ATTEMPTS executions; any other failure ends the job with a clear
error.
"""
from __future__ import annotations

import uuid
from typing import Any, NoReturn

from celery.exceptions import SoftTimeLimitExceeded

from app.analysis import store
from app.analysis.fetcher import FetchLimits, NetworkError, PageRefusedError
from app.analysis.pipeline import STEPS, run_analysis
from app.analysis.request import InvalidRequestError, parse_request
from app.platform.celery_app import celery
from app.platform.retry import RetryPolicy
from app.settings import get_settings


class AnalysisFailed(RuntimeError):
    """The analysis cannot succeed; the message is what the API reports as the job's error."""


def retry_policy(settings: Any) -> RetryPolicy:
    # Attempts are the job record's (redeliveries of a lost worker's job count too), not Celery's retries.
    return RetryPolicy(retry_on=(NetworkError,), never_retry=(PageRefusedError,),
                       max_attempts=settings.analysis_max_attempts,
                       backoff_initial=settings.analysis_retry_base_delay, backoff_max=settings.analysis_retry_max_delay)


@celery.task(name="analysis.analyze", queue_name="analysis", default_priority=3, bind=True, max_retries=None)
def analyze(self: Any, tool_id: Any = None, url: Any = None, description: Any = None,
            priority: Any = "normal") -> dict[str, Any]:
    """Analyse one tool: `celery -A app call analysis.analyze --kwargs '{"tool_id": "x", "url": "https://..."}'`."""
    settings = get_settings()
    job_id = self.request.id or str(uuid.uuid4())
    try:
        request = parse_request({"tool_id": tool_id, "url": url, "description": description, "priority": priority},
                                allow_private=settings.analysis_allow_private_addresses)
    except InvalidRequestError as exc:
        store.mark_failed(job_id, str(exc))  # only if a record exists (the API never records bad input)
        raise AnalysisFailed(str(exc)) from None

    store.create(job_id, request)  # a no-op for API submissions; records `celery call` ones
    job = store.start_attempt(job_id)
    if job is None:  # redelivered after it finished: the stored outcome stands
        final = store.get(job_id) or {}
        return {"jobId": job_id, "status": final.get("status"), "redelivered": True}
    policy = retry_policy(settings)
    attempt, max_attempts = job["attempts"], policy.max_attempts
    if attempt > max_attempts:
        # Started more often than allowed without finishing (workers lost mid-task): stop the loop.
        _fail(job_id, f"gave up: started {attempt} times without finishing (worker lost?)")

    def progress(percent: int, step: str) -> None:
        store.set_progress(job_id, percent, step)
        self.report_progress(percent, step=step)

    try:
        result = run_analysis(request, FetchLimits.from_settings(settings), progress)
    except NetworkError as exc:
        if policy.will_retry(exc, attempt):
            delay = policy.delay(attempt, exc.retry_after)  # the server's Retry-After, within our cap
            store.mark_retrying(job_id, f"attempt {attempt} of {max_attempts} failed: {exc}; retrying in {delay:.1f}s")
            raise self.retry(exc=exc, countdown=delay) from exc
        _fail(job_id, f"failed after {attempt} attempts: {exc}")
    except PageRefusedError as exc:
        _fail(job_id, str(exc))
    except SoftTimeLimitExceeded:
        _fail(job_id, "timed out: the analysis exceeded the analysis pool's time limit")
    except Exception as exc:
        store.mark_failed(job_id, f"internal error: {type(exc).__name__}: {exc}")
        raise

    progress(STEPS["store"], "store")
    store.mark_completed(job_id, result)
    self.report_progress(100, step="done")
    return {"jobId": job_id, "status": "completed", "attempts": attempt,
            "maturityScore": result["analysis"]["maturityScore"]}


def _fail(job_id: str, error: str) -> NoReturn:
    store.mark_failed(job_id, error)
    raise AnalysisFailed(error)
