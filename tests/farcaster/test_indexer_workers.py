"""Acceptance: real Celery workers (realtime, events, backfill pools), real Redis and PostgreSQL,
and the hub simulator. Two roots and a client app are indexed, 60 blocks go by (manual
advance, simulated time), and the database must equal the ground truth - also with a worker
SIGKILLed mid-run (backfill, events and realtime), Redis flushed mid-run, hub faults, and in Hubble mode."""
from __future__ import annotations

import os
import signal
import time
from dataclasses import replace

import pytest
from sqlalchemy import text

from app.farcaster import realtime
from simulators.hub.faults import FaultConfig
from simulators.hub.testing import running_hub
from tests.support import wait_until

from .helpers import compare_with_truth, profile_matches_user_data, stream_message_hashes, target_set

ROOTS = (7, 21)
POOLS = ("realtime", "events", "backfill")


@pytest.fixture(scope="module")
def hub():
    with running_hub(num_fids=150, seed=11) as hub:
        yield hub


@pytest.fixture(scope="module")
def pools(worker_pools, hub):
    env = pool_env(hub)
    for pool in POOLS:
        worker_pools.restart(pool, env=env)
    yield worker_pools
    for pool in POOLS:  # later suites must not inherit workers pointed at this hub
        worker_pools.stop(pool)


def pool_env(hub) -> dict[str, str]:
    return {"HUB_URLS": hub.url, "HUB_REQUESTS_PER_SECOND": "5000", "HUB_BACKOFF_MAX_SECONDS": "0.2",
            "HUB_ATTEMPTS": "12", "HUB_TIMEOUT_SECONDS": "5",
            # A killed worker's leases expire in seconds, for the sweep catch_up runs.
            "LEASE_HEARTBEAT_SECONDS": "1", "LEASE_TTL_SECONDS": "10"}


@pytest.fixture
def fresh(engine, cache_redis, pools, hub):
    hub.faults.clear()
    hub.set_hubble(False)
    yield engine
    hub.faults.clear()
    hub.set_hubble(False)


def send(celery_app, name, *args, **kwargs):
    return celery_app.send_task(name, args=list(args), kwargs=kwargs)


def scalar(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def idle(engine) -> bool:
    return scalar(engine, """
        SELECT (SELECT count(*) FROM farcaster_backfill_requests WHERE state IN ('pending', 'running'))
             + (SELECT count(*) FROM farcaster_staged_batches WHERE applied_at IS NULL)
             + (SELECT count(*) FROM farcaster_client_apps WHERE users_scanned_at IS NULL)
    """) == 0


def cursors_at_head(engine, hub) -> bool:
    with engine.connect() as conn:
        cursors = dict(conn.execute(text("SELECT shard_index, next_event_id FROM farcaster_shard_cursors")).all())
    if hub.api.hubble:
        ids = [e.hubble_id for log in hub.network.stream.shards.values() for e in log.events[-1:]]
        return 0 in cursors and (not ids or cursors[0] > max(ids))
    return all(cursors.get(s, 0) >= (hub.network.stream.max_height(s) + 1) << realtime.SEQ_BITS
               for s in hub.network.stream.shards)


def catch_up(celery_app, engine, hub, timeout: float = 60) -> None:
    """What beat does: poll every shard and sweep the leases of killed workers, until the cursors
    reach the head and every staged batch and backfill is done."""
    from tasks.maintenance import sweep_leases

    deadline = time.monotonic() + timeout
    while True:
        send(celery_app, "farcaster.poll_shards")
        sweep_leases()
        try:
            wait_until(lambda: cursors_at_head(engine, hub) and idle(engine), timeout=1.0, interval=0.1)
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise AssertionError(f"indexer did not catch up: {state(engine, hub)}") from None


def state(engine, hub) -> dict:
    with engine.connect() as conn:
        return {
            "cursors": dict(conn.execute(text("SELECT shard_index, next_event_id FROM farcaster_shard_cursors")).all()),
            "heads": {s: (hub.network.stream.max_height(s) + 1) << realtime.SEQ_BITS for s in hub.network.stream.shards},
            "backfills": conn.execute(text("SELECT state, count(*) FROM farcaster_backfill_requests GROUP BY 1")).all(),
            "unapplied": conn.execute(text("SELECT count(*) FROM farcaster_staged_batches WHERE applied_at IS NULL")).scalar(),
            "apps_unscanned": conn.execute(text("SELECT count(*) FROM farcaster_client_apps WHERE users_scanned_at IS NULL")).scalar(),
            "failed": conn.execute(text("SELECT fid, error FROM farcaster_backfill_requests WHERE state = 'failed' LIMIT 3")).all(),
        }


def start_indexing(celery_app, engine, hub, app_fid: int) -> None:
    send(celery_app, "farcaster.poll_shards")  # a new install starts at the hub's head
    wait_until(lambda: scalar(engine, "SELECT count(*) FROM farcaster_shard_cursors") >= 1, timeout=30,
               message="cursors initialised")
    send(celery_app, "farcaster.add_client_app", app_fid)
    for root in ROOTS:
        send(celery_app, "farcaster.add_target", root, root=True)
    wait_until(lambda: target_set(engine) >= set(ROOTS)
               and scalar(engine, "SELECT count(*) FROM farcaster_client_apps") == 1, timeout=30,
               message="roots and client app recorded")


def assert_matches_truth(engine, hub, app_fid: int, watched: set[int], started_at: int) -> None:
    truth = hub.ground_truth(roots=list(ROOTS), client_apps=[app_fid])
    assert target_set(engine) == truth.targets
    problems = compare_with_truth(engine, truth, stream_message_hashes(hub, started_at), watched)
    assert not problems, "\n".join(problems[:30])
    assert not profile_matches_user_data(engine, truth.targets)
    for table in ("casts", "reactions", "links", "user_data"):  # hashes are primary keys: no duplicates possible,
        # and no two rows describe one hub message under different hashes either
        assert scalar(engine, f"SELECT count(*) - count(DISTINCT hash) FROM farcaster_{table}") == 0


def live_blocks(celery_app, engine, hub, blocks: int = 60, step: int = 10, during=None) -> None:
    for i in range(0, blocks, step):
        hub.advance(step)
        if during:
            during(i)
        catch_up(celery_app, engine, hub)


def test_two_roots_and_a_client_app_after_backfill_and_60_live_blocks(fresh, celery_app, hub):
    engine = fresh
    app_fid = hub.network.plan.client_apps[0]
    started_at = hub.position
    start_indexing(celery_app, engine, hub, app_fid)
    catch_up(celery_app, engine, hub)
    watched = set(hub.ground_truth(roots=list(ROOTS), client_apps=[app_fid]).targets)
    assert target_set(engine) == watched
    live_blocks(celery_app, engine, hub)
    assert_matches_truth(engine, hub, app_fid, watched, started_at)
    # Re-delivering every staged batch changes nothing.
    before = scalar(engine, "SELECT md5(string_agg(encode(hash, 'hex') || coalesce(encode(deleted_by, 'hex'), ''), ',' "
                            "ORDER BY hash)) FROM farcaster_reactions")
    with engine.begin() as conn:
        ids = list(conn.execute(text("UPDATE farcaster_staged_batches SET applied_at = NULL RETURNING id")).scalars())
    for batch_id in ids:
        send(celery_app, "farcaster.apply_staged", batch_id)
    wait_until(lambda: idle(engine), timeout=60, message="re-applied batches")
    assert ids
    assert before == scalar(engine, "SELECT md5(string_agg(encode(hash, 'hex') || coalesce(encode(deleted_by, 'hex'), ''), ',' "
                                    "ORDER BY hash)) FROM farcaster_reactions")
    assert_matches_truth(engine, hub, app_fid, watched, started_at)


def kill_worker_and_its_processes(process) -> None:
    """SIGKILL a worker's pool processes (the one running the task among them), then the worker."""
    with open(f"/proc/{process.pid}/task/{process.pid}/children") as f:
        children = [int(pid) for pid in f.read().split()]
    for pid in children:
        os.kill(pid, signal.SIGKILL)
    process.send_signal(signal.SIGKILL)
    process.wait()


def test_sigkill_flushdb_and_hub_faults_lose_and_duplicate_nothing(fresh, celery_app, hub, pools, redis_client):
    from app.farcaster.services import indexer

    engine = fresh
    app_fid = hub.network.plan.client_apps[0]
    started_at = hub.position
    faults = FaultConfig(error_rate=0.10, rate_limit_rate=0.05, seed=3)
    hub.faults.configure(faults)
    start_indexing(celery_app, engine, hub, app_fid)

    # SIGKILL the backfill worker while backfills run; its messages are in flight.
    wait_until(lambda: scalar(engine, "SELECT count(*) FROM farcaster_backfill_requests WHERE state = 'running'") > 0,
               timeout=60, message="a backfill running")
    pools.running["backfill"].process.send_signal(signal.SIGKILL)
    pools.running["backfill"].process.wait()
    pools.restart("backfill", env=pool_env(hub))
    indexer().recover(0)  # the periodic recovery, without waiting for its staleness threshold
    catch_up(celery_app, engine, hub, timeout=120)
    watched = set(hub.ground_truth(roots=list(ROOTS), client_apps=[app_fid]).targets)

    def chaos(i: int) -> None:
        if i == 10:  # SIGKILL the events worker right after staged batches were sent to it
            send(celery_app, "farcaster.poll_shards")
            wait_until(lambda: scalar(engine, "SELECT count(*) FROM farcaster_staged_batches") > 0, timeout=30,
                       message="staged batches")
            pools.running["events"].process.send_signal(signal.SIGKILL)
            pools.running["events"].process.wait()
            pools.restart("events", env=pool_env(hub))
            indexer().recover(0)
        if i == 20:  # SIGKILL the realtime worker in the middle of a poll (a slow hub keeps it there)
            hub.faults.configure(replace(faults, latency_ms=400, path_prefix="/v1/events"))
            since = scalar(engine, "SELECT now()")
            send(celery_app, "farcaster.poll_shards")
            wait_until(lambda: scalar(engine, "SELECT count(*) FROM jobs WHERE name = 'farcaster.poll_shard' "
                                              "AND state = 'STARTED' AND started_at >= :t", t=since) > 0,
                       timeout=30, message="a poll running")
            kill_worker_and_its_processes(pools.running["realtime"].process)
            hub.faults.configure(faults)
            pools.restart("realtime", env=pool_env(hub))
        if i == 30:  # Redis loses everything: queues, target cache, rate limiter
            send(celery_app, "farcaster.poll_shards")
            redis_client.flushdb()
            for pool in POOLS:  # workers re-declare their queues on start
                pools.restart(pool, env=pool_env(hub))
            indexer().recover(0)  # rebuilds the cache, re-sends staged and open work

    live_blocks(celery_app, engine, hub, during=chaos)
    hub.faults.clear()
    indexer().recover(0)
    catch_up(celery_app, engine, hub, timeout=120)
    assert hub.faults.injected["error"] > 0 and hub.faults.injected["rate_limit"] > 0
    assert_matches_truth(engine, hub, app_fid, watched, started_at)


def test_hubble_mode(fresh, celery_app, hub):
    engine = fresh
    hub.set_hubble(True)
    app_fid = hub.network.plan.client_apps[0]
    started_at = hub.position
    start_indexing(celery_app, engine, hub, app_fid)
    catch_up(celery_app, engine, hub)
    watched = set(hub.ground_truth(roots=list(ROOTS), client_apps=[app_fid]).targets)
    live_blocks(celery_app, engine, hub)
    assert_matches_truth(engine, hub, app_fid, watched, started_at)
