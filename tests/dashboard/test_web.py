"""The dashboard over HTTP, as `switchyard flower` serves it with basic auth and a read-only viewer."""
from __future__ import annotations

import os
from datetime import datetime, timezone
import re
import subprocess
import sys

import pytest
import requests
from sqlalchemy import insert

from app.platform.pauses import PausedQueue
from app.db import get_engine
from app.platform.jobs import queries
from app.platform.jobs.models import JobAttempt, JobLogLine
from tests.conftest import ROOT, TEST_ENV
from tests.dashboard.fixtures import idle_maintenance  # noqa: F401 - a fixture
from tests.dashboard.rows import job_row
from tests.support import wait_until
from tests.dashboard.servers import ADMIN, BASIC_AUTH_ENV, VIEWER, offered_actions, running_dashboard, xsrf_token


SCRAPE_TOKEN = "scrape-token-for-tests"


@pytest.fixture(scope="module")
def dashboard(database, tmp_path_factory):
    env = {**BASIC_AUTH_ENV, "METRICS_SCRAPE_TOKEN": SCRAPE_TOKEN}
    with running_dashboard(tmp_path_factory.mktemp("dashboard"), env) as server:
        yield server


def session_for(user: tuple[str, str]) -> requests.Session:
    session = requests.Session()
    session.auth = user
    return session


def test_every_page_needs_a_login(dashboard, db):
    for path in ("/queues", "/queues/maintenance", "/failed", "/jobs", "/jobs/new", "/workers"):
        assert requests.get(dashboard.url + path, timeout=10).status_code == 401, path
        assert requests.get(dashboard.url + path, auth=("admin", "wrong"), timeout=10).status_code == 401, path


def test_admin_sees_the_pages_and_their_actions(dashboard, db, redis_client):
    failed = job_row(name="maintenance.flaky", kwargs={"fail_attempts": 9}, progress=40, progress_info={"step": 2},
                     error="DrillFailure: attempt 9 fails on purpose", traceback="Traceback ...")
    admin = session_for(ADMIN)
    queues = admin.get(dashboard.url + "/queues", timeout=10)
    assert queues.status_code == 200 and 'id="queue-maintenance"' in queues.text
    assert {"pause", "retry-failed"} <= offered_actions(queues.text)
    assert "signed in as <strong>admin</strong>" in queues.text
    with get_engine().begin() as conn:
        conn.execute(insert(JobAttempt.__table__).values(job_id=failed, attempt=9, worker="maintenance@h1",
                                                         state="FAILURE", error="DrillFailure: attempt 9 fails"))
        conn.execute(insert(JobLogLine.__table__).values(job_id=failed, attempt=9, seq=0, logged_at=datetime.now(timezone.utc),
                                                         level="WARNING", logger="tasks.maintenance", message="disk <full>"))
    child = job_row(name="maintenance.fail", parent_id=failed)
    job_row(name="maintenance.fail", parent_id=child, state="SUCCESS")
    job_page = admin.get(f"{dashboard.url}/jobs/{failed}", timeout=10).text
    assert "retry" in offered_actions(job_page)
    assert 'id="flow-tree"' in job_page and 'data-depth="2"' in job_page and f'data-job="{child}"' in job_page
    assert 'data-attempt="9"' in job_page and "maintenance@h1" in job_page
    assert "WARNING tasks.maintenance: disk &lt;full&gt;" in job_page  # the log, escaped
    assert 'id="flower-link"' not in job_page  # a row Flower never saw an event of: no dead link
    assert 'style="width: 40%"' in job_page and "DrillFailure: attempt 9 fails on purpose" in job_page
    assert failed[:8] in admin.get(dashboard.url + "/failed?queue=maintenance", timeout=10).text
    for path in ("/queues/maintenance", "/jobs?state=FAILURE", "/jobs/new", "/workers", "/tasks", "/broker"):
        reply = admin.get(dashboard.url + path, timeout=10)
        assert reply.status_code == 200, path
        assert "SWITCHYARD" in reply.text, f"{path} lacks the dashboard's links"  # Flower's pages too
    assert admin.get(dashboard.url + "/queues/nope", timeout=10).status_code == 404
    assert admin.get(dashboard.url + "/jobs/nope", timeout=10).status_code == 404
    # A job by the start of its id, from the URL or the navbar's box; several matches are listed.
    found = admin.get(f"{dashboard.url}/jobs/{failed[:8]}", timeout=10)
    assert found.status_code == 200 and found.url.endswith(f"/jobs/{failed}")
    assert admin.get(f"{dashboard.url}/find-job", params={"id": failed[:6]}, timeout=10).url.endswith(failed)
    twins = [job_row(id=f"feedbeef-0000-4000-8000-00000000000{i}") for i in (1, 2)]
    choices = admin.get(f"{dashboard.url}/find-job", params={"id": "feedbeef"}, timeout=10)
    assert choices.status_code == 200 and all(f'data-job="{t}"' in choices.text for t in twins)
    assert admin.get(f"{dashboard.url}/find-job", params={"id": "%%%%"}, timeout=10).status_code == 404
    assert f'data-job="{failed}"' in admin.get(f"{dashboard.url}/jobs", params={"q": "drill"}, timeout=10).text
    assert f'data-job="{failed}"' not in admin.get(f"{dashboard.url}/jobs", params={"q": "nope"}, timeout=10).text
    assert admin.get(f"{dashboard.url}/jobs", params={"q": "x" * 201}, timeout=10).status_code == 400
    jobs_page = admin.get(f"{dashboard.url}/jobs", params={"queue": "maintenance"}, timeout=10).text
    tab = re.search(r'data-tab="FAILURE"\s+href="\?([^"]*)">failure <span class="badge[^"]*">([0-9,]+)<', jobs_page)
    assert tab and "state=FAILURE" in tab[1] and int(tab[2]) == queries.counts_by_queue_and_state()["maintenance"]["FAILURE"]
    assert 'href="/jobs?queue=maintenance&amp;state=STARTED' not in queues.text  # no running job: no link


def test_running_jobs_show_their_worker_lease_age_and_heartbeat(dashboard, db):
    from tests.platform.lease_helpers import expire_owner, take

    running = job_row(name="farcaster.backfill_fid", queue="backfill", state="STARTED", error=None)
    lost = job_row(name="analysis.analyze", queue="analysis", state="STARTED", error=None)
    take(get_engine(), "farcaster.backfill_fid", "1:7", owner="backfill@host-a:321", task_id=running)
    take(get_engine(), "analysis.analyze", lost, owner="analysis@host-b:9", task_id=lost)
    expire_owner(get_engine(), "analysis@host-b:9")
    admin = session_for(ADMIN)
    listing = admin.get(dashboard.url + "/jobs?state=STARTED", timeout=10).text
    assert 'data-lease-owner="backfill@host-a:321"' in listing and "heartbeat" in listing
    assert "(not alive)" in listing
    page = admin.get(f"{dashboard.url}/jobs/{running}", timeout=10).text
    assert 'id="job-lease"' in page and "on backfill@host-a:321 · lease" in page


def test_metrics_carry_the_business_next_to_flowers_own(dashboard, db):
    job_row(name="maintenance.flaky")
    assert requests.get(dashboard.url + "/metrics", timeout=10).status_code == 401
    assert requests.get(dashboard.url + "/metrics", auth=("admin", "wrong"), timeout=10).status_code == 401
    assert requests.get(dashboard.url + "/metrics", headers={"Authorization": "Bearer wrong"},
                        timeout=10).status_code == 401
    scraped = requests.get(dashboard.url + "/metrics", headers={"Authorization": f"Bearer {SCRAPE_TOKEN}"},
                           timeout=10)
    assert scraped.status_code == 200 and "switchyard_jobs" in scraped.text
    text = session_for(VIEWER).get(dashboard.url + "/metrics", timeout=10).text
    assert "flower_events_total" in text or "flower_worker_online" in text  # Flower's own
    assert 'switchyard_metrics_scrape_error{source="postgresql"} 0.0' in text
    assert 'switchyard_jobs{queue="maintenance",state="FAILURE"}' in text
    assert "switchyard_queue_waiting" in text and "switchyard_analysis_jobs" in text


def test_viewer_sees_no_actions_and_every_action_is_refused(dashboard, idle_maintenance):
    failed = job_row()
    viewer = session_for(VIEWER)
    for path in ("/queues", "/queues/maintenance", "/failed", f"/jobs/{failed}"):
        page = viewer.get(dashboard.url + path, timeout=10)
        assert page.status_code == 200 and offered_actions(page.text) <= {"add-job"}, path
        assert "read-only" in page.text
    token = xsrf_token(viewer, dashboard.url + "/queues")
    posts = {
        "/queues/maintenance/pause": {}, "/queues/maintenance/resume": {}, "/queues/maintenance/retry-failed": {},
        "/queues/maintenance/purge": {"confirm": "maintenance"},
        "/queues/maintenance/clean": {"confirm": "maintenance", "kind": "failed", "age": "0", "unit": "days"},
        f"/jobs/{failed}/retry": {}, f"/jobs/{failed}/run-now": {},
        "/jobs/new": {"task": "canary.maintenance", "args": "[]", "kwargs": "{}"},
    }
    for path, form in posts.items():
        reply = viewer.post(dashboard.url + path, data={"_xsrf": token, **form}, timeout=10, allow_redirects=False)
        assert reply.status_code == 403, path
        assert "viewer has read-only access: actions are not allowed" in reply.text, path
    assert viewer.get(dashboard.url + "/queues/maintenance/purge", timeout=10).status_code == 403
    # Flower's own API and worker control: refused too.
    for path in ("/api/task/send-task/canary.maintenance", "/api/task/async-apply/canary.maintenance",
                 "/api/worker/queue/cancel-consumer/maintenance@x?queue=maintenance", f"/api/task/revoke/{failed}",
                 "/api/worker/shutdown/maintenance@x"):
        reply = viewer.post(dashboard.url + path, json={}, timeout=10)
        assert reply.status_code == 403, path
    assert viewer.get(dashboard.url + "/api/workers", timeout=10).status_code == 200  # reading is fine
    with get_engine().connect() as conn:
        assert conn.execute(PausedQueue.__table__.select()).first() is None
    assert idle_maintenance.llen("maintenance") == 0 and queries.get_job(failed)["state"] == "FAILURE"


def test_admin_actions_need_the_form_token_and_a_same_origin_request(dashboard, idle_maintenance):
    admin = session_for(ADMIN)
    token = xsrf_token(admin, dashboard.url + "/queues")
    assert admin.post(dashboard.url + "/queues/maintenance/pause", timeout=10).status_code == 403
    cross_site = admin.post(dashboard.url + "/queues/maintenance/pause", data={"_xsrf": token},
                            headers={"Sec-Fetch-Site": "cross-site"}, timeout=10)
    assert cross_site.status_code == 403
    paused = admin.post(dashboard.url + "/queues/maintenance/pause", data={"_xsrf": token}, timeout=10)
    try:
        assert paused.status_code == 200 and "Paused maintenance" in paused.text  # redirected to the queue
        assert 'data-status="paused"' in paused.text
    finally:
        resumed = admin.post(dashboard.url + "/queues/maintenance/resume", data={"_xsrf": token}, timeout=10)
    assert "Resumed maintenance" in resumed.text


def test_admin_adds_retries_purges_and_cleans_through_forms(dashboard, idle_maintenance):
    admin = session_for(ADMIN)
    token = xsrf_token(admin, dashboard.url + "/jobs/new")

    refused = admin.post(dashboard.url + "/jobs/new", data={"_xsrf": token, "task": "no.such", "args": "[]"}, timeout=10)
    assert refused.status_code == 400 and "unknown task &#x27;no.such&#x27;" in refused.text
    added = admin.post(dashboard.url + "/jobs/new", timeout=10, data={
        "_xsrf": token, "task": "maintenance.fail", "args": '["from the form"]', "kwargs": "{}", "priority": "3"})
    assert added.status_code == 200 and "Added job" in added.text
    job_id = added.url.rsplit("/", 1)[1]
    assert queries.get_job(job_id)["args"] == ["from the form"]

    failed = job_row(args=["again"])
    retried = admin.post(f"{dashboard.url}/jobs/{failed}/retry", data={"_xsrf": token}, timeout=10)
    assert "Retried as job" in retried.text and "Retried as" in retried.text  # notice, then the link row
    again = admin.post(f"{dashboard.url}/jobs/{failed}/retry", data={"_xsrf": token}, timeout=10)
    assert "was already retried as" in again.text

    ask = admin.get(dashboard.url + "/queues/maintenance/purge", timeout=10)
    assert "Delete all 2 messages waiting in maintenance" in ask.text
    unconfirmed = admin.post(dashboard.url + "/queues/maintenance/purge", data={"_xsrf": token, "confirm": "x"}, timeout=10)
    assert unconfirmed.status_code == 400 and idle_maintenance.llen("maintenance:3") == 1
    purged = admin.post(dashboard.url + "/queues/maintenance/purge",
                        data={"_xsrf": token, "confirm": "maintenance"}, timeout=10)
    assert "Purged 2 waiting messages from maintenance" in purged.text

    job_row(state="SUCCESS")
    ask = admin.get(dashboard.url + "/queues/maintenance/clean?kind=completed&age=0&unit=minutes", timeout=10)
    assert "Delete 1 completed job records of maintenance" in ask.text
    cleaned = admin.post(dashboard.url + "/queues/maintenance/clean", timeout=10, data={
        "_xsrf": token, "kind": "completed", "age": "0", "unit": "minutes", "confirm": "maintenance"})
    assert "Deleted 1 completed job records of maintenance" in cleaned.text


def test_flower_refuses_to_start_without_authentication_in_production(database):
    env = {**os.environ, **TEST_ENV, "ENVIRONMENT": "production"}
    env.pop("FLOWER_BASIC_AUTH", None)
    env.pop("FLOWER_AUTH", None)
    done = subprocess.run([sys.executable, "-m", "app.cli.main", "flower", "--port", "1"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "refusing to start without authentication (ENVIRONMENT=production)" in done.stderr
    assert "FLOWER_BASIC_AUTH" in done.stderr


def test_passwords_reach_flower_by_environment_not_argv(monkeypatch):
    from app.cli.platform import flower_argv, flower_env
    from app.settings import get_settings

    monkeypatch.setenv("FLOWER_BASIC_AUTH", "admin:s3cret")
    get_settings.cache_clear()
    try:
        argv = flower_argv()
        assert argv[1:3] == ["-m", "app.dashboard"] and not any("s3cret" in a for a in argv)
        assert flower_env()["FLOWER_BASIC_AUTH"] == "admin:s3cret"
    finally:
        get_settings.cache_clear()


def test_admin_switches_a_beat_entry_and_edits_removes_and_cancels_jobs_through_forms(dashboard, idle_maintenance):
    admin = session_for(ADMIN)
    token = xsrf_token(admin, dashboard.url + "/schedules")
    page = admin.get(dashboard.url + "/schedules", timeout=10).text
    assert 'data-entry="prune-jobs" data-enabled="yes"' in page
    off = admin.post(dashboard.url + "/schedules/prune-jobs", data={"_xsrf": token, "do": "disable"}, timeout=10)
    assert "prune-jobs: disabled." in off.text and 'data-entry="prune-jobs" data-enabled="no"' in off.text
    on = admin.post(dashboard.url + "/schedules/prune-jobs", data={"_xsrf": token, "do": "enable"}, timeout=10)
    assert 'data-entry="prune-jobs" data-enabled="yes"' in on.text
    ran = admin.post(dashboard.url + "/schedules/prune-jobs", data={"_xsrf": token, "do": "run"}, timeout=10)
    assert "prune-jobs: sent now as job" in ran.text
    assert admin.post(dashboard.url + "/schedules/nope", data={"_xsrf": token, "do": "run"},
                      timeout=10).status_code == 404
    assert session_for(VIEWER).post(dashboard.url + "/schedules/prune-jobs", data={"_xsrf": token, "do": "disable"},
                                    timeout=10).status_code == 403

    failed = job_row(name="maintenance.fail", args=["x"])
    edited = admin.post(f"{dashboard.url}/jobs/{failed}/retry-edited", timeout=10,
                        data={"_xsrf": token, "args": '["edited"]', "kwargs": "{}"})
    assert "Retried with edited arguments as job" in edited.text
    new_id = re.search(r"Retried with edited arguments as job ([0-9a-f-]+)\.", edited.text)[1]
    assert new_id != failed and wait_until(lambda: queries.get_job(new_id), message="the retry to be recorded")
    removed = admin.post(f"{dashboard.url}/jobs/{failed}/remove", data={"_xsrf": token}, timeout=10)
    assert f"Job {failed} removed." in removed.text and queries.get_job(failed) is None
    running = job_row(name="maintenance.fail", state="STARTED")
    cancelled = admin.post(f"{dashboard.url}/jobs/{running}/cancel", data={"_xsrf": token}, timeout=10)
    assert "Cancelled: revoked: the running attempt finishes" in cancelled.text
