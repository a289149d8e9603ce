"""End to end in a real headless Chromium (Debian's, driven by Playwright): log in, see the queues,
retry a failed job and see it succeed, pause a queue and see new jobs wait, resume and see them run.

Screenshots go to the test's tmp directory and to artifacts/screenshots/ for people to look at.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.platform.celery_app import celery
from app.platform.jobs import queries
from tests.conftest import ROOT
from tests.dashboard.servers import ADMIN, BASIC_AUTH_ENV, VIEWER, running_dashboard
from tests.support import wait_until

CHROMIUM = Path(os.environ.get("SWITCHYARD_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "artifacts" / "screenshots"


class Screenshots:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.taken: list[Path] = []

    def take(self, page, name: str) -> None:
        path = self.directory / f"{len(self.taken) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)

    def publish(self) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for path in self.taken:
            shutil.copy2(path, ARTIFACTS / path.name)


@pytest.fixture
def browser_for(tmp_path) -> Iterator:
    """Opens a Chromium (fresh profile) with the given basic-auth credentials, or none."""
    if not CHROMIUM.exists():
        reason = "Debian's chromium is needed for the browser tests: sudo apt-get install chromium"
        # .ci/run installs it and sets SWITCHYARD_REQUIRE_BROWSER: there a missing browser fails.
        if os.environ.get("SWITCHYARD_REQUIRE_BROWSER"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    contexts = []
    with sync_playwright() as playwright:
        def open_browser(credentials: tuple[str, str] | None):
            profile = tempfile.mkdtemp(prefix="chromium-profile-", dir=tmp_path)
            context = playwright.chromium.launch_persistent_context(
                profile, executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
                viewport={"width": 1400, "height": 900},
                http_credentials={"username": credentials[0], "password": credentials[1]} if credentials else None)
            context.set_default_timeout(20_000)
            contexts.append(context)
            return context.pages[0] if context.pages else context.new_page()

        yield open_browser
        for context in contexts:
            context.close()


def reload_until(page, selector: str, attribute: str, value: str, timeout: float = 60) -> None:
    def shows() -> bool:
        page.reload()
        return page.get_attribute(selector, attribute) == value

    wait_until(shows, timeout=timeout, interval=0.5, message=f"{selector} {attribute}={value} on {page.url}")


@pytest.mark.slow
def test_operator_retries_a_failed_job_and_pauses_and_resumes_a_queue(db, redis_client, worker_pools,
                                                                       browser_for, tmp_path):
    worker_pools.start("maintenance")
    # A job that fails all 6 of its automatic attempts; the dashboard's retry is the 7th, which succeeds.
    failing = celery.send_task("maintenance.flaky", kwargs={"fail_attempts": 6}).id
    wait_until(lambda: (queries.get_job(failing) or {}).get("state") == "FAILURE", timeout=60,
               message="the drill job to fail")
    shots = Screenshots(tmp_path / "screenshots")
    shots.directory.mkdir()

    with running_dashboard(tmp_path, BASIC_AUTH_ENV) as dashboard:
        try:
            anonymous = browser_for(None)
            assert anonymous.request.get(dashboard.url + "/queues").status == 401  # no login, no dashboard

            page = browser_for(ADMIN)
            assert page.goto(dashboard.url + "/queues").status == 200
            row = page.locator("#queue-maintenance")
            assert row.locator('[data-count="failed"]').inner_text() == "1"
            assert page.locator("#dashboard-user").inner_text().startswith("signed in as admin")
            shots.take(page, "queues")

            # Open the failed job from the failed-jobs page, retry it, follow it to success.
            row.locator('[data-count="failed"] a').click()
            page.locator(f'tr[data-job="{failing}"] a').first.click()
            assert page.get_attribute("#job-page", "data-state") == "FAILURE"
            assert "attempt 6 fails on purpose" in page.locator("#job-error").inner_text()
            assert page.locator("#job-progress").count() == 1
            shots.take(page, "failed-job")
            page.locator('[data-action="retry"]').click()
            assert "Retried as job" in page.locator("#dashboard-notice").inner_text()
            page.locator("#job-resent-as a").first.click()
            retry_id = page.get_attribute("#job-page", "data-job")
            assert retry_id != failing and page.locator("#job-resend-of").inner_text().startswith(failing)
            reload_until(page, "#job-page", "data-state", "SUCCESS")
            assert '"attempts": 7' in page.locator("#job-result").inner_text()
            assert page.locator("#job-attempts").inner_text() == "7"  # the count went on
            assert page.locator("#attempts-table tr[data-attempt='7']").count() == 1
            shots.take(page, "retried-job-succeeded")

            # Pause: a job added now waits in Redis.
            page.goto(f"{dashboard.url}/queues/maintenance")
            page.locator('[data-action="pause"]').click()
            assert page.get_attribute('#queue-page [data-status]', "data-status") == "paused"
            page.goto(dashboard.url + "/jobs/new")
            page.fill("#task", "maintenance.flaky")
            page.fill("#kwargs", '{"fail_attempts": 0, "steps": 3}')
            page.locator('[data-action="add-job"]').click()
            waiting_id = page.get_attribute("#job-page", "data-job")
            page.goto(f"{dashboard.url}/queues/maintenance")
            assert page.locator('[data-count="waiting"] .metric-value').inner_text() == "1"
            assert page.locator(f'#waiting-table tr[data-job="{waiting_id}"]').count() == 1
            shots.take(page, "paused-queue-with-a-waiting-job")
            assert redis_client.llen("maintenance") == 1 and queries.get_job(waiting_id)["state"] == "PENDING"

            # Resume from the queue page while the job's page is open in another tab: that page
            # updates itself (no reload), state and rendered progress included.
            job_tab = page.context.new_page()
            job_tab.goto(f"{dashboard.url}/jobs/{waiting_id}")
            job_tab.select_option("#live-interval", "2")
            assert job_tab.get_attribute("#job-page", "data-state") == "PENDING"
            page.locator('[data-action="resume"]').click()
            assert "Resumed maintenance" in page.locator("#dashboard-notice").inner_text()
            job_tab.wait_for_function("document.querySelector('#job-page').dataset.state === 'SUCCESS'",
                                      timeout=60_000)
            assert int(job_tab.evaluate("document.body.dataset.liveUpdates || '0'")) >= 1
            assert re.fullmatch(r"step [123] of 3", job_tab.locator("#job-progress-info").inner_text())
            assert job_tab.locator("#flower-link").count() == 1  # Flower saw this one's events
            shots.take(job_tab, "resumed-job-succeeded-live")
            job_tab.locator("#live-toggle").click()  # paused, and remembered across a reload
            assert job_tab.evaluate("document.body.dataset.live") == "paused"
            job_tab.reload()
            assert job_tab.evaluate("document.body.dataset.live") == "paused"
            job_tab.locator("#live-toggle").click()
            job_tab.close()
            page.goto(dashboard.url + "/queues")
            assert page.get_attribute("#queue-maintenance [data-status]", "data-status") == "running"
            shots.take(page, "queues-after")

            # A viewer sees the same pages without any action.
            viewer = browser_for(VIEWER)
            viewer.goto(dashboard.url + "/queues")
            assert viewer.locator("[data-action]").count() == 0
            assert "read-only" in viewer.locator("#dashboard-user").inner_text()
            shots.take(viewer, "viewer-queues")

            # Layout: from a phone to a wide screen, no page scrolls sideways (wide tables scroll in
            # their own box) and queue names never wrap inside a word.
            for width, height in ((390, 844), (1280, 800), (1920, 1080)):
                page.set_viewport_size({"width": width, "height": height})
                for path in ("/queues", "/jobs", f"/jobs/{retry_id}", "/charts", "/schedules"):
                    page.goto(dashboard.url + path)
                    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                    assert overflow <= 0, f"{path} at {width}px scrolls sideways by {overflow}px"
                name = page.locator("#queue-product-family a").first
                page.goto(dashboard.url + "/queues")
                box = name.bounding_box()
                assert box and box["height"] < 2 * 24, f"a queue name wraps at {width}px"
                shots.take(page, f"queues-at-{width}px")
        finally:
            from app.platform import pauses

            if "maintenance" in pauses.paused_queues():  # never leave the shared maintenance worker paused
                pauses.resume("maintenance")
            shots.publish()


@pytest.mark.slow
def test_operator_finds_edits_removes_and_schedules_jobs(db, redis_client, worker_pools, browser_for, tmp_path):
    from tests.dashboard.rows import job_row

    worker_pools.start("maintenance")
    parent = job_row(name="catalogue.sync_supplier", queue="supplier-sync", state="SUCCESS",
                     kwargs={"supplier_code": "A23"})
    for state in ("SUCCESS", "SUCCESS", "FAILURE"):
        job_row(name="catalogue.sync_family", queue="product-family", state=state, parent_id=parent,
                args=[1, "A23-100804"])
    failed = job_row(name="maintenance.flaky", args=[], kwargs={"fail_attempts": 9})
    shots = Screenshots(tmp_path / "screenshots")
    shots.directory.mkdir()

    with running_dashboard(tmp_path, BASIC_AUTH_ENV) as dashboard:
        try:
            page = browser_for(ADMIN)
            # Find by what is inside a job, then by the start of its id from the navbar.
            page.goto(dashboard.url + "/jobs")
            page.fill("#filter-search", "A23")
            page.locator("#filter-search").press("Enter")
            page.wait_for_url("**q=A23**")
            page.locator(f'#jobs-table tr[data-job="{parent}"]').wait_for()
            assert page.locator("#jobs-table tbody tr[data-job]").count() == 4  # the supplier sync, its families
            shots.take(page, "search-by-content")
            page.fill("#find-job", parent[:8])
            page.locator("#find-job").press("Enter")
            page.wait_for_url(f"**/jobs/{parent}")
            assert page.get_attribute("#job-page", "data-job") == parent
            assert page.locator('#flow-tree [data-flow-count="catalogue.sync_family:FAILURE"]').count() == 1
            shots.take(page, "flow-tree")

            # Retry a failed job with edited arguments; it runs and succeeds.
            page.goto(f"{dashboard.url}/jobs/{failed}")
            page.locator("#retry-edited summary").click()
            page.fill("#edit-kwargs", '{"fail_attempts": 0, "steps": 1}')
            page.locator('[data-action="retry-edited"]').click()
            assert "Retried with edited arguments as job" in page.locator("#dashboard-notice").inner_text()
            page.locator("#job-resent-as a").first.click()
            reload_until(page, "#job-page", "data-state", "SUCCESS")
            assert "Retry with edited arguments of" in page.locator("#job-page").inner_text()
            shots.take(page, "retried-with-edited-arguments")

            # Remove the failed original (a confirm dialog first).
            page.goto(f"{dashboard.url}/jobs/{failed}")
            page.once("dialog", lambda dialog: dialog.accept())
            page.locator('[data-action="remove"]').click()
            assert f"Job {failed} removed." in page.locator("#dashboard-notice").inner_text()

            # Switch a beat entry off and on; the charts page draws the finished jobs.
            page.goto(dashboard.url + "/schedules")
            page.locator('tr[data-entry="prune-jobs"] [data-action="disable"]').click()
            assert page.get_attribute('tr[data-entry="prune-jobs"]', "data-enabled") == "no"
            shots.take(page, "schedules-disabled")
            page.locator('tr[data-entry="prune-jobs"] [data-action="enable"]').click()
            assert page.get_attribute('tr[data-entry="prune-jobs"]', "data-enabled") == "yes"
            page.goto(dashboard.url + "/charts?hours=1")
            assert page.locator('[data-chart="maintenance"] svg.throughput').count() == 1
            shots.take(page, "charts")
        finally:
            shots.publish()
