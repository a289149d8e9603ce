"""End to end on this host: a backfill worker's whole process tree is SIGKILLed mid-backfill;
the lease sweep re-sends the work once the dead worker's lease expires (not at the broker's
one-hour visibility timeout), a second worker finishes it, and the fid equals the hub's truth."""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace

import pytest
from sqlalchemy import text

from simulators.hub.faults import FaultConfig
from simulators.hub.testing import running_hub
from tests.conftest import ROOT, TEST_ENV
from tests.support import stop_process, wait_until

from .helpers import compare_with_truth
from .test_indexer_workers import kill_worker_and_its_processes

FID = 7
# Short, with slack for a loaded CI machine (a late heartbeat must not look like a death).
LEASE_ENV = {"LEASE_HEARTBEAT_SECONDS": "1", "LEASE_TTL_SECONDS": "5"}


@pytest.fixture(scope="module")
def hub():
    with running_hub(num_fids=40, seed=5) as hub:
        yield hub


def spawn_backfill_worker(name: str, hub, log_dir) -> subprocess.Popen:
    """A backfill worker with its own node name (the pool's command, as `switchyard worker` runs it)."""
    from app.settings import get_settings
    from workers.command import worker_argv

    pool = get_settings().pool("backfill").with_overrides(concurrency=1)
    argv = worker_argv(pool, celery=(sys.executable, "-m", "celery"))
    argv[argv.index("--hostname") + 1] = f"{name}@%h"
    env = {**os.environ, **TEST_ENV, **LEASE_ENV, "HUB_URLS": hub.url, "HUB_PAGE_SIZE": "4",
           "HUB_REQUESTS_PER_SECOND": "5000", "FARCASTER_WRITE_BATCH_ROWS": "100"}
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=(log_dir / f"{name}.log").open("wb"),
                            stderr=subprocess.STDOUT)


def answers(celery_app, process: subprocess.Popen, name: str) -> bool:
    assert process.poll() is None, f"worker {name} exited"
    return any(name in node for reply in celery_app.control.ping(timeout=0.5) for node in reply)


def row(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).mappings().first()


def test_a_killed_backfill_worker_s_work_is_finished_by_another_after_its_lease_expires(
        engine, cache_redis, worker_pools, celery_app, hub, tmp_path):
    from app.farcaster.services import indexer
    from tasks.maintenance import sweep_leases

    worker_pools.stop("backfill")  # only this test's workers consume the backfill queue
    hub.faults.configure(FaultConfig(latency_ms=300, path_prefix="/v1/"))  # a backfill takes seconds
    workers = {name: spawn_backfill_worker(name, hub, tmp_path) for name in ("recovery-a", "recovery-b")}
    try:
        for name, process in workers.items():
            wait_until(lambda p=process, n=name: answers(celery_app, p, n), timeout=60, message=f"worker {name}")
        indexer().add_target(FID, root=False)
        lease = wait_until(lambda: row(engine, """
            SELECT l.*, j.progress_info FROM leases l JOIN jobs j ON j.id = l.task_id
            WHERE l.kind = 'farcaster.backfill_fid' AND l.state = 'running'
              AND (j.progress_info->>'pages')::int >= 3"""), timeout=60, message="a worker mid-backfill")
        holder = next(name for name in workers if lease["owner"].startswith(f"{name}@"))
        survivor = next(name for name in workers if name != holder)
        assert row(engine, "SELECT state FROM farcaster_backfill_requests WHERE fid = :f", f=FID)["state"] == "running"
        assert cache_redis.hexists("unacked", lease["delivery_tag"])  # the holder has the message, unacked

        kill_worker_and_its_processes(workers[holder])
        killed_at = row(engine, "SELECT now() AS t")["t"]
        hub.faults.clear()

        def finished() -> bool:
            sweep_leases()  # what beat sends every LEASE_SWEEP_INTERVAL_SECONDS
            return row(engine, "SELECT state FROM farcaster_backfill_requests WHERE fid = :f", f=FID)["state"] == "done"

        wait_until(finished, timeout=90, interval=0.5, message=f"the backfill finished by {survivor}")

        after = row(engine, "SELECT * FROM leases WHERE kind = 'farcaster.backfill_fid' AND key = :k", k=lease["key"])
        dead = row(engine, "SELECT * FROM lease_owners WHERE owner = :o", o=lease["owner"])
        assert after["previous_owner"] == lease["owner"] and after["resends"] == 1
        assert after["epoch"] == lease["epoch"] + 2  # the sweep's take-over, then the survivor's take
        assert dead["heartbeat_at"] <= killed_at
        # Re-sent once the lease expired - seconds after the kill, not at the visibility timeout.
        assert after["resent_at"] >= dead["expires_at"]
        print(f"\nrecovery: killed -> re-sent {(after['resent_at'] - killed_at).total_seconds():.1f} s, "
              f"-> running again {(after['taken_at'] - killed_at).total_seconds():.1f} s "
              f"(heartbeat {LEASE_ENV['LEASE_HEARTBEAT_SECONDS']} s, lease ttl {LEASE_ENV['LEASE_TTL_SECONDS']} s)")
        assert not cache_redis.hexists("unacked", lease["delivery_tag"])  # never redelivered an hour later
        job = row(engine, "SELECT worker, state FROM jobs WHERE id = :i", i=lease["task_id"])
        assert job["state"] == "SUCCESS" and job["worker"].startswith(f"{survivor}@")

        truth = hub.ground_truth(roots=[FID])
        only_fid = replace(truth, fids={FID: truth.fids[FID]}, targets={FID})
        problems = compare_with_truth(engine, only_fid, set())
        assert not problems, "\n".join(problems[:30])
        assert row(engine, "SELECT count(*) AS n FROM farcaster_casts WHERE fid = :f", f=FID)["n"] > 0
    finally:
        hub.faults.clear()
        for process in workers.values():
            if process.poll() is None:
                stop_process(process)
