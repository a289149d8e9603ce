"""analysis.analyze on the real analysis pool: priorities, retries with backoff, clear failures."""
from __future__ import annotations

import threading
from typing import Any

from app.analysis import store
from app.analysis.page_server import html
from app.platform.celeryconfig import PRIORITY_STEPS
from app.platform.jobs import queries
from app.platform.queues import waiting
from tests.support import wait_until

PAGE = """<html><head><title>Tool</title><meta name="description" content="An online code editor"></head>
<body><h1>Write code</h1><a href="/docs">Docs</a></body></html>"""


def _final(api: Any, job_id: str, timeout: float = 30) -> dict[str, Any]:
    return wait_until(lambda: (job := api.job(job_id))["status"] in ("completed", "failed") and job,
                      timeout=timeout, message=f"analysis {job_id} to finish")


def test_high_priority_jobs_overtake_waiting_low_ones(api, pages, analysis_worker, redis_client):
    from app.settings import get_settings

    release = threading.Event()

    def held_page():
        release.wait(30)
        return html(PAGE)

    pages.routes.update({"/hold": held_page, "/page": lambda: html(PAGE)})
    try:
        # Busy, deterministically: the pool's only process is inside a fetch that waits for us.
        blocker = api.submit(toolId="blocker", url=pages.url("/hold"), priority="high")
        wait_until(lambda: pages.hits.get("/hold") == 1, timeout=20, message="the worker to hold /hold")
        low = [api.submit(toolId=f"low-{i}", url=pages.url(f"/page?n={i}"), priority="low") for i in range(30)]
        high = [api.submit(toolId=f"high-{i}", url=pages.url(f"/page?h={i}"), priority="high") for i in range(5)]
        # All 35 wait in the broker (prefetch 1: none reserved by the busy worker), by priority step.
        assert waiting(get_settings().redis_url, ["analysis"]) == {"analysis": 35}
        assert redis_client.llen("analysis") == 5 and redis_client.llen(f"analysis:{PRIORITY_STEPS[2]}") == 30
    finally:
        release.set()
    jobs = {job_id: _final(api, job_id, timeout=60) for job_id in [blocker, *low, *high]}
    assert all(job["status"] == "completed" for job in jobs.values())

    def times(ids: list[str], key: str) -> list[str]:
        return [jobs[i]["timestamps"][key] for i in ids]

    last_high_finished = max(times(high, "finishedAt"))
    assert last_high_finished < min(times(low, "startedAt"))
    assert last_high_finished < min(times(low, "finishedAt"))
    # Within a priority, first come first served.
    assert times(low, "startedAt") == sorted(times(low, "startedAt"))


def test_network_errors_are_retried_until_the_third_attempt_succeeds(api, pages, analysis_worker):
    answers = iter([None, html("<h1>busy</h1>", 503)])  # a dropped connection, then a 503, then the page
    pages.routes["/flaky"] = lambda: next(answers, html(PAGE))
    job_id = api.submit(toolId="flaky", url=pages.url("/flaky"), description="an editor", priority="normal")
    job = _final(api, job_id)
    assert job["status"] == "completed", job["error"]
    assert job["attempts"] == 3
    assert job["progress"] == 100
    assert job["error"] is None
    assert pages.hits["/flaky"] == 3
    assert job["result"]["page"]["title"] == "Tool"
    assert "Public documentation" in job["result"]["analysis"]["strengths"]
    record = queries.get_job(job_id)  # the generic job history agrees
    assert record["state"] == "SUCCESS" and record["attempts"] == 3 and record["progress"] == 100


def test_network_errors_end_the_job_after_three_attempts(api, pages, analysis_worker):
    pages.routes["/down"] = lambda: html("<h1>down</h1>", 502)
    job = _final(api, api.submit(toolId="down", url=pages.url("/down")))
    assert job["status"] == "failed"
    assert job["attempts"] == 3 and pages.hits["/down"] == 3
    assert job["error"].startswith("failed after 3 attempts: HTTP 502 from")
    assert job["result"] is None


def test_other_failures_end_the_job_at_once_with_a_clear_error(api, pages, analysis_worker):
    pages.routes["/pdf"] = lambda: (200, {"Content-Type": "application/pdf"}, b"%PDF-1.4")
    missing = _final(api, api.submit(toolId="missing", url=pages.url("/missing")))
    pdf = _final(api, api.submit(toolId="pdf", url=pages.url("/pdf")))
    assert (missing["status"], missing["attempts"]) == ("failed", 1)
    assert missing["error"] == f"HTTP 404 from {pages.url('/missing')}"
    assert (pdf["status"], pdf["attempts"]) == ("failed", 1)
    assert pdf["error"] == f"{pages.url('/pdf')} is application/pdf, not an HTML page"


def test_bad_task_arguments_fail_clearly_and_store_nothing(db, celery_app, analysis_worker):
    result = celery_app.send_task("analysis.analyze", kwargs={"tool_id": 42, "url": "ftp://example.com/"})
    job = wait_until(lambda: (j := queries.get_job(result.id)) and j["state"] == "FAILURE" and j,
                     timeout=30, message="the task to fail")
    assert job["error"].startswith("AnalysisFailed: invalid analysis request: tool_id: Input should be a valid string")
    assert store.get(result.id) is None


def test_celery_call_without_the_api_records_the_job(db, celery_app, pages, analysis_worker):
    pages.routes["/page"] = lambda: html(PAGE)
    result = celery_app.send_task("analysis.analyze", kwargs={"tool_id": "direct", "url": pages.url("/page")})
    record = wait_until(lambda: (r := store.get(result.id)) and r["status"] == "completed" and r,
                        timeout=30, message="the direct job to complete")
    assert record["tool_id"] == "direct" and record["attempts"] == 1 and record["progress"] == 100


def test_a_job_started_too_often_without_finishing_is_stopped(db, celery_app, pages, analysis_worker):
    # As if workers died mid-fetch three times (acks-late redelivered it each time).
    import uuid

    from sqlalchemy import update

    from app.analysis.models import AnalysisJob
    from app.analysis.request import AnalysisRequest
    from app.db import get_engine

    pages.routes["/page"] = lambda: html(PAGE)
    job_id = str(uuid.uuid4())
    store.create(job_id, AnalysisRequest(tool_id="doomed", url=pages.url("/page")))
    with get_engine().begin() as conn:
        conn.execute(update(AnalysisJob.__table__).where(AnalysisJob.__table__.c.id == job_id)
                     .values(attempts=3, status="running"))
    celery_app.send_task("analysis.analyze", kwargs={"tool_id": "doomed", "url": pages.url("/page")},
                         task_id=job_id)
    record = wait_until(lambda: (r := store.get(job_id)) and r["status"] == "failed" and r,
                        timeout=30, message="the job to be stopped")
    assert record["error"] == "gave up: started 4 times without finishing (worker lost?)"
    assert pages.hits == {}  # it did not fetch again
