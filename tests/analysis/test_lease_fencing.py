"""Fencing in the analysis job's write path: a worker whose lease was taken over cannot record
progress, a result or a failure on the job its successor runs."""
from __future__ import annotations

from typing import Any

import pytest

from app.analysis import store
from app.analysis.request import parse_request
from app.db import get_engine
from app.platform import leases
from tests.platform.lease_helpers import stale


def test_a_stale_attempt_cannot_finish_the_job(db: str) -> None:
    job_id = "job-fenced"
    store.create(job_id, parse_request({"tool_id": "tool-1", "url": "https://example.com/"}, allow_private=False))
    assert store.start_attempt(job_id) is not None
    result: dict[str, Any] = {"analysis": {"maturityScore": 3}}
    with leases.holding(stale(get_engine(), "analysis.analyze", job_id)):
        with pytest.raises(leases.LeaseLost):
            store.set_progress(job_id, 60, "extract")
        with pytest.raises(leases.LeaseLost):
            store.mark_completed(job_id, result)
        with pytest.raises(leases.LeaseLost):
            store.mark_failed(job_id, "stale worker's error")
    job = store.get(job_id)
    assert job is not None and (job["status"], job["result"], job["progress"]) == ("running", None, 0)
    store.mark_completed(job_id, result)  # the new owner
    assert (store.get(job_id) or {})["status"] == "completed"
