"""Accept an analysis request: record it, then publish the task at the request's priority.

The record is written before the message is sent, so a worker always finds it
and GET /v1/analyze/{jobId} answers from the moment the id is returned.
"""
from __future__ import annotations

import uuid
from typing import Any

from app.analysis import store
from app.analysis.request import BROKER_PRIORITY, AnalysisRequest

TASK_NAME = "analysis.analyze"


class BrokerUnavailableError(RuntimeError):
    """The request was recorded but could not be queued; it is marked failed."""


def task_kwargs(request: AnalysisRequest) -> dict[str, Any]:
    return {"tool_id": request.tool_id, "url": request.url, "description": request.description,
            "priority": request.priority}


def submit(request: AnalysisRequest) -> dict[str, Any]:
    """Record and queue one analysis; returns its record (status queued)."""
    from app.platform.celery_app import celery

    job_id = str(uuid.uuid4())
    record = store.create(job_id, request)
    try:
        celery.send_task(TASK_NAME, kwargs=task_kwargs(request), task_id=job_id,
                         priority=BROKER_PRIORITY[request.priority], retry=True,
                         retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5})
    except Exception as exc:  # noqa: BLE001 - any broker failure: say so, never leave a job "queued" forever
        store.mark_failed(job_id, f"could not queue the job: {type(exc).__name__}: {exc}")
        raise BrokerUnavailableError(f"the broker did not accept the job: {exc}") from exc
    return record
