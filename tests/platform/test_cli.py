"""Operators' entry points as subprocesses: `celery -A app call` and the `switchyard` console script."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import ROOT, TEST_ENV
from tests.platform.test_job_records import wait_final
from workers.pools import POOLS


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=ROOT, env={**os.environ, **TEST_ENV}, capture_output=True, text=True,
                          timeout=60)


def switchyard(*argv: str) -> subprocess.CompletedProcess[str]:
    return run(sys.executable, "-m", "app.cli.main", *argv)


def test_celery_call_of_each_queue_runs_on_its_pool(db, redis_client, worker_pools):
    workers = worker_pools.start(*[p.name for p in POOLS])
    calls = {
        pool.name: subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "app", "call", f"canary.{pool.queues[0]}"],
            cwd=ROOT, env={**os.environ, **TEST_ENV}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for pool in POOLS
    }
    for pool, call in calls.items():
        out, err = call.communicate(timeout=60)
        assert call.returncode == 0, err
        job = wait_final(out.strip())
        assert (job["state"], job["queue"], job["worker"]) == ("SUCCESS", pool, workers[pool].nodename)


def test_celery_call_with_arguments(db, redis_client, worker_pools):
    worker_pools.start("maintenance")
    called = run(sys.executable, "-m", "celery", "-A", "app", "call", "maintenance.fail", "--args", '["from the cli"]')
    assert called.returncode == 0, called.stderr
    job = wait_final(called.stdout.strip())
    assert job["state"] == "FAILURE" and job["args"] == ["from the cli"]


def test_operator_cli_shows_a_failed_job_with_its_traceback(db, redis_client, worker_pools, celery_app):
    worker_pools.start("maintenance")
    failed = wait_final(celery_app.send_task("maintenance.fail", args=["disk on fire"]).id)

    listing = switchyard("failed")
    assert listing.returncode == 0, listing.stderr
    assert failed["id"] in listing.stdout and "DrillFailure: disk on fire" in listing.stdout

    detail = switchyard("job", failed["id"])
    assert detail.returncode == 0, detail.stderr
    assert "traceback:" in detail.stdout and "raise DrillFailure(message)" in detail.stdout

    as_json = json.loads(switchyard("--json", "failed", "--queue", "maintenance").stdout)
    assert [j["id"] for j in as_json] == [failed["id"]]
    assert as_json[0]["error"] == "DrillFailure: disk on fire"


def test_status_counts_waiting_messages_and_job_states(db, redis_client, worker_pools, celery_app):
    worker_pools.start("maintenance")
    wait_final(celery_app.send_task("canary.maintenance").id)
    worker_pools.stop("supplier-sync")  # nobody consumes supplier-sync now
    for _ in range(3):
        celery_app.send_task("canary.supplier-sync")
    celery_app.send_task("canary.supplier-sync", priority=6)
    status = json.loads(switchyard("--json", "status").stdout)
    assert status["supplier-sync"]["waiting"] == 4
    assert status["supplier-sync"]["waiting_by_priority"] == {"0": 3, "3": 0, "6": 1, "9": 0}
    assert status["supplier-sync"]["jobs"] == {"PENDING": 4}
    assert status["maintenance"]["jobs"]["SUCCESS"] == 1
    assert status["maintenance"]["last_canary"] is not None
    table = switchyard("status").stdout
    assert table.splitlines()[0].split()[:3] == ["QUEUE", "WAITING", "PENDING"]


def test_cli_errors_are_clear(database):
    unknown = switchyard("job", "no-such-id")
    assert unknown.returncode == 1 and "no job 'no-such-id'" in unknown.stderr
    bad_state = switchyard("jobs", "--state", "sleeping")
    assert bad_state.returncode == 2 and "unknown state 'sleeping'" in bad_state.stderr
    bad_pool = switchyard("worker", "nosuchpool", "--print")
    assert bad_pool.returncode == 2 and "unknown pool 'nosuchpool'" in bad_pool.stderr


def test_job_is_found_by_the_start_of_its_id(db):
    from tests.dashboard.rows import job_row

    one = job_row(id="5f3a9c1e-0000-4000-8000-000000000001")
    job_row(id="77aa0000-0000-4000-8000-000000000001")
    job_row(id="77aa0000-0000-4000-8000-000000000002")

    found = switchyard("--json", "job", "5f3a9c")
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)["id"] == one
    several = switchyard("job", "77aa0000")
    assert several.returncode == 1 and "several job ids" in several.stderr
    assert "77aa0000-0000-4000-8000-000000000001" in several.stderr and "-000000000002" in several.stderr
    for missing in ("5f3a", "abc", "5f3a%"):  # unknown, too short, a LIKE wildcard
        refused = switchyard("job", missing + "zz")
        assert refused.returncode == 1 and "no job" in refused.stderr
