"""Fencing in the indexer's write paths: a worker whose lease was taken over writes nothing.

Each test runs a step under a stale lease (taken, then taken over by the sweep), checks that
it is refused and left no trace, then runs it under no lease (as its new owner would) to
show the state it refused to touch is still whole."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from app.farcaster import realtime
from app.platform import leases
from tests.platform.lease_helpers import stale

from .helpers import make_indexer


def scalar(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def test_a_stale_backfill_stores_no_rows_and_leaves_its_request_running(engine, cache_redis, hub_sim):
    ix, work = make_indexer(engine, cache_redis, hub_sim.url)
    ix.add_target(7, root=False)
    [(_, request_id, fid)] = [item for item in work.work if item[0] == "backfill"]
    with leases.holding(stale(engine, "farcaster.backfill_fid", f"{request_id}:{fid}")):
        with pytest.raises(leases.LeaseLost):
            ix.run_backfill(fid, request_id)
        with pytest.raises(leases.LeaseLost):  # nor can it record the failure its successor would see
            ix.fail_backfill(request_id, fid, "stale worker's error")
    assert scalar(engine, "SELECT count(*) FROM farcaster_casts WHERE fid = :f", f=fid) == 0
    assert scalar(engine, "SELECT state FROM farcaster_backfill_requests WHERE id = :i", i=request_id) == "running"
    ix.run_backfill(fid, request_id)  # the new owner
    assert scalar(engine, "SELECT state FROM farcaster_backfill_requests WHERE id = :i", i=request_id) == "done"
    assert scalar(engine, "SELECT count(*) FROM farcaster_casts WHERE fid = :f", f=fid) > 0


def test_a_stale_staged_batch_is_not_applied(engine, cache_redis, hub_sim):
    ix, work = make_indexer(engine, cache_redis, hub_sim.url)
    realtime.ensure_cursors(engine, ix.client)
    ix.add_target(7, root=True)
    work.drain(ix)
    hub_sim.advance(10)
    batch_ids = [b for s in realtime.stream_shards(ix.client.info())
                 for b in realtime.poll_shard(engine, ix.client, ix.cache, s).staged_batch_ids]
    assert batch_ids
    batch_id = batch_ids[0]
    with leases.holding(stale(engine, "farcaster.apply_staged", str(batch_id))):
        with pytest.raises(leases.LeaseLost):
            ix.apply_staged(batch_id)
    assert scalar(engine, "SELECT applied_at FROM farcaster_staged_batches WHERE id = :i", i=batch_id) is None
    assert ix.apply_staged(batch_id)["batch"] == batch_id
    assert scalar(engine, "SELECT applied_at IS NOT NULL FROM farcaster_staged_batches WHERE id = :i", i=batch_id)


def test_a_stale_client_app_discovery_and_scan_write_nothing(engine, cache_redis, hub_sim):
    ix, work = make_indexer(engine, cache_redis, hub_sim.url)
    app = hub_sim.network.plan.client_apps[0]
    ix.add_client_app(app)
    with leases.holding(stale(engine, "farcaster.discover_app_users", str(app))):
        with pytest.raises(leases.LeaseLost):
            ix.discover_app_users(app, chunk_fids=200)
    assert scalar(engine, "SELECT count(*) FROM farcaster_app_scan_chunks") == 0
    ix.discover_app_users(app, chunk_fids=200)  # one slice: every fid
    work.work.clear()
    with leases.holding(stale(engine, "farcaster.scan_app_users", f"{app}:0")):
        with pytest.raises(leases.LeaseLost):
            ix.scan_app_users(app, 0)
    assert scalar(engine, "SELECT count(*) FROM farcaster_targets") == 0  # no user became a root
    assert scalar(engine, "SELECT done_at FROM farcaster_app_scan_chunks WHERE app_fid = :a", a=app) is None
    assert ix.scan_app_users(app, 0)["users"]
    assert scalar(engine, "SELECT done_at IS NOT NULL FROM farcaster_app_scan_chunks WHERE app_fid = :a", a=app)
