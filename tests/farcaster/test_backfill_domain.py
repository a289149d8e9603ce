"""Backfill, targets, graph expansion and realtime in-process (no Celery), against the ground truth."""
from __future__ import annotations

from sqlalchemy import text

from app.farcaster import realtime
from simulators.hub.testing import running_hub

from .helpers import compare_with_truth, make_indexer, profile_matches_user_data, stream_message_hashes, target_set


def catch_up(ix, work, hub) -> None:
    """Poll every shard until no events are left, applying staged batches as workers would."""
    for _ in range(50):
        results = [realtime.poll_shard(ix.engine, ix.client, ix.cache, s) for s in realtime.stream_shards(ix.client.info())]
        for r in results:
            for b in r.staged_batch_ids:
                work.apply_staged(b)
        work.drain(ix)
        if all(r.events == 0 for r in results):
            return
    raise AssertionError("did not catch up")


def test_backfill_then_live_blocks_match_ground_truth(engine, cache_redis):
    with running_hub(num_fids=150, seed=11) as hub:
        app = hub.network.plan.client_apps[0]
        ix, work = make_indexer(engine, cache_redis, hub.url)
        realtime.ensure_cursors(engine, ix.client)
        ix.add_client_app(app)
        ix.discover_app_users(app, chunk_fids=7)  # in slices of 7 fids, one scan each
        ix.add_target(7, root=True)
        ix.add_target(21, root=True)
        work.drain(ix)
        truth = hub.ground_truth(roots=[7, 21], client_apps=[app])
        assert target_set(engine) == truth.targets
        problems = compare_with_truth(engine, truth, set())
        assert not problems, "\n".join(problems[:30])
        initial_targets = truth.targets

        for _ in range(6):
            hub.advance(10)
            catch_up(ix, work, hub)
        truth = hub.ground_truth(roots=[7, 21], client_apps=[app])
        assert target_set(engine) == truth.targets
        problems = compare_with_truth(engine, truth, stream_message_hashes(hub), initial_targets)
        assert not problems, "\n".join(problems[:30])
        assert not profile_matches_user_data(engine, truth.targets)


def test_client_app_discovery_runs_in_slices_and_recovery_resends_lost_ones(engine, cache_redis):
    with running_hub(num_fids=60, seed=11) as hub:
        app = hub.network.plan.client_apps[0]
        ix, work = make_indexer(engine, cache_redis, hub.url)

        def scanned_at():
            with engine.connect() as conn:
                return conn.execute(text("SELECT users_scanned_at FROM farcaster_client_apps WHERE fid = :a"),
                                    {"a": app}).scalar()

        ix.add_client_app(app)
        listed = ix.discover_app_users(app, chunk_fids=7)
        assert listed["fids"] >= 60 and listed["chunks"] == -(-listed["fids"] // 7)
        assert [w[0] for w in work.work] == ["scan_app_users"] * listed["chunks"]
        work.work.clear()  # Redis lost the scans' messages
        assert scanned_at() is None
        assert ix.recover(0)["client_app_slices"] == listed["chunks"]
        work.drain(ix)  # the slices, then the backfills of the users they found
        assert scanned_at() is not None
        assert target_set(engine) == hub.ground_truth(client_apps=[app]).targets
        assert ix.recover(0)["client_app_slices"] == 0
        # A slice delivered twice is skipped the second time.
        assert ix.scan_app_users(app, 0)["skipped"] == "already done"
