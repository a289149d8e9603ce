"""Subscriber details (block counts, non-overlapping polls, retention gaps), backfill dedupe,
bad hub data, and reconciliation."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from app.farcaster import backfill, realtime
from app.farcaster.hub_client import HubClient, HubUnavailable
from app.farcaster.reconcile import reconcile_fid
from simulators.hub.faults import FaultConfig
from simulators.hub.testing import running_hub

from .helpers import make_indexer


def block(height: int, n_data: int, total: int | None = None) -> list[dict]:
    head = {"type": "HUB_EVENT_TYPE_BLOCK_CONFIRMED", "id": height << 14, "blockNumber": height,
            "blockConfirmedBody": {"blockNumber": height, "totalEvents": n_data + 1 if total is None else total}}
    return [head] + [{"type": "HUB_EVENT_TYPE_MERGE_MESSAGE", "id": (height << 14) + i, "blockNumber": height}
                     for i in range(1, n_data + 1)]


def test_only_whole_counted_blocks_are_kept():
    events = block(10, 2) + block(11, 3) + block(12, 5)[:3]  # the page ended inside block 12
    kept, blocks = realtime._complete_blocks(events, stream_ended=False, where="t")
    assert blocks == 2 and kept[-1]["id"] == (11 << 14) + 3
    with pytest.raises(realtime.IncompleteBlock, match="totalEvents 6, received 3"):
        realtime._complete_blocks(events, stream_ended=True, where="t")  # nothing more will come: a mismatch
    with pytest.raises(realtime.IncompleteBlock, match="not consecutive"):
        realtime._complete_blocks(block(10, 1) + block(12, 1), stream_ended=True, where="t")
    with pytest.raises(realtime.IncompleteBlock, match="BLOCK_CONFIRMED"):
        realtime._complete_blocks(block(10, 2)[1:], stream_ended=True, where="t")


def test_mismatched_block_is_refetched_and_cursor_kept(engine, cache_redis, hub_sim):
    ix, _ = make_indexer(engine, cache_redis, hub_sim.url)
    realtime.ensure_cursors(engine, ix.client)
    hub_sim.advance(3)
    log1 = hub_sim.network.stream.shards[1]
    victim = next(e for e in log1.events if e.type == 11)
    real_payload = dict(victim.payload)
    victim.payload["total_events"] = real_payload["total_events"] + 1  # the hub lies about one block
    victim._json.clear()
    try:
        with engine.connect() as conn:
            before = conn.execute(text("SELECT next_event_id FROM farcaster_shard_cursors WHERE shard_index = 1")).scalar()
        with pytest.raises(realtime.IncompleteBlock):
            realtime.poll_shard(engine, ix.client, ix.cache, 1)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT next_event_id FROM farcaster_shard_cursors WHERE shard_index = 1")).scalar() == before
    finally:
        victim.payload.clear()
        victim.payload.update(real_payload)
        victim._json.clear()
    result = realtime.poll_shard(engine, ix.client, ix.cache, 1)
    assert result.blocks == 3 and result.cursor > before


def test_polls_of_one_shard_never_overlap(engine, cache_redis, hub_sim):
    ix, _ = make_indexer(engine, cache_redis, hub_sim.url)
    realtime.ensure_cursors(engine, ix.client)
    with engine.connect() as holder:
        holder.execute(text("SELECT * FROM farcaster_shard_cursors WHERE shard_index = 1 FOR UPDATE"))
        assert realtime.poll_shard(engine, ix.client, ix.cache, 1).skipped
        assert not realtime.poll_shard(engine, ix.client, ix.cache, 2).skipped
        holder.rollback()


def test_cursor_older_than_retention_is_detected(engine, cache_redis):
    with running_hub(num_fids=60, seed=5, retention_seconds=5) as hub:
        ix, _ = make_indexer(engine, cache_redis, hub.url)
        realtime.ensure_cursors(engine, ix.client)
        hub.advance(20)  # 20 simulated seconds: the first 15 blocks are gone
        result = realtime.poll_shard(engine, ix.client, ix.cache, 1)
        assert result.gap and "retention" in result.gap
        assert realtime.poll_shard(engine, ix.client, ix.cache, 1).gap is None


def test_hubble_cursor_older_than_retention_is_detected(engine, cache_redis):
    with running_hub(num_fids=60, seed=5, retention_seconds=5, hubble=True) as hub:
        ix, _ = make_indexer(engine, cache_redis, hub.url)
        realtime.ensure_cursors(engine, ix.client)
        hub.advance(3)
        first = realtime.poll_shard(engine, ix.client, ix.cache, realtime.HUBBLE_STREAM)
        assert first.events and first.gap is None  # read from the oldest retained event: no gap
        hub.advance(2)
        assert realtime.poll_shard(engine, ix.client, ix.cache, realtime.HUBBLE_STREAM).gap is None  # within retention
        hub.advance(20)  # 20 simulated seconds: events after the cursor are gone
        result = realtime.poll_shard(engine, ix.client, ix.cache, realtime.HUBBLE_STREAM)
        assert result.gap and "retention" in result.gap
        assert realtime.poll_shard(engine, ix.client, ix.cache, realtime.HUBBLE_STREAM).gap is None


def test_backfill_is_requested_once_while_open(engine):
    with engine.begin() as conn:
        assert [f for _, f in backfill.request_backfills(conn, [5, 6], "test")] == [5, 6]
        assert backfill.request_backfills(conn, [5, 6, 7], "test")[0][1] == 7
        conn.execute(text("UPDATE farcaster_backfill_requests SET state = 'done' WHERE fid = 5"))
        assert [f for _, f in backfill.request_backfills(conn, [5, 6], "test")] == [5]


def test_malformed_hub_response_stores_nothing(engine, cache_redis, hub_sim):
    hub_sim.faults.configure(FaultConfig(malformed_rate=1.0, path_prefix="/v1/linksByFid"))
    ix, _ = make_indexer(engine, cache_redis, hub_sim.url, attempts=2)
    with pytest.raises(HubUnavailable, match="malformed"):
        backfill.fetch_and_store(engine, ix.client, 7, write_batch_rows=10**6)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM farcaster_casts")).scalar() == 0


def test_reconcile_repairs_both_directions_under_the_safe_rule(engine, cache_redis, hub_sim):
    ix, work = make_indexer(engine, cache_redis, hub_sim.url)
    ix.add_target(7, root=False)
    work.drain(ix)
    client = HubClient(hub_sim.url)
    with engine.begin() as conn:
        missing = conn.execute(text("DELETE FROM farcaster_casts WHERE hash = (SELECT hash FROM farcaster_casts "
                                    "WHERE fid = 7 ORDER BY hash LIMIT 1) RETURNING hash")).scalar()
        # A row the hub does not have, stored long ago, and one stored just now.
        conn.execute(text("""
            INSERT INTO farcaster_casts (hash, fid, timestamp, signer, text, cast_type, mentions, mentions_positions,
                                         embeds, created_at)
            VALUES ('\\x01', 7, now(), '\\x02', 'ghost', 'CAST', '{}', '{}', '[]', now() - interval '1 day'),
                   ('\\x03', 7, now(), '\\x02', 'fresh', 'CAST', '{}', '{}', '[]', now())
        """))
    result = reconcile_fid(engine, client, 7, grace_seconds=600, max_delete_ratio=0.2)
    assert (result.db_only, result.marked_deleted, result.refused) == (2, 1, None)
    with engine.connect() as conn:
        states = dict(conn.execute(text("SELECT text, deleted_at IS NOT NULL FROM farcaster_casts WHERE hash IN "
                                        "('\\x01', '\\x03')")).all())
        assert states == {"ghost": True, "fresh": False}
        assert conn.execute(text("SELECT count(*) FROM farcaster_casts WHERE hash = :h"), {"h": missing}).scalar() == 1
    # Too large a difference looks like a broken hub: refused, nothing deleted.
    with engine.begin() as conn:
        conn.execute(text("""
            INSERT INTO farcaster_casts (hash, fid, timestamp, signer, text, cast_type, mentions, mentions_positions, embeds)
            VALUES ('\\x04', 7, now(), '\\x02', 'g2', 'CAST', '{}', '{}', '[]'),
                   ('\\x05', 7, now(), '\\x02', 'g3', 'CAST', '{}', '{}', '[]')
        """))
    result = reconcile_fid(engine, client, 7, grace_seconds=0, max_delete_ratio=0.05)
    assert result.db_only == 3 and result.refused and result.marked_deleted == 0


def test_a_backlog_is_staged_in_segments_each_committed_with_its_cursor(engine, cache_redis, monkeypatch):
    """Segments: each staged with its cursor advance and handed to on_staged right after its
    commit; a failing segment stores nothing of itself and keeps the cursor after the last good
    one; the result matches the ground truth."""
    from .helpers import compare_with_truth, stream_message_hashes, target_set
    from .test_backfill_domain import catch_up

    monkeypatch.setattr(realtime, "STAGE_CHUNK_EVENTS", 100)
    with running_hub(num_fids=150, seed=11) as hub:
        ix, work = make_indexer(engine, cache_redis, hub.url)
        realtime.ensure_cursors(engine, ix.client)
        ix.add_target(7, root=True)
        ix.add_target(21, root=True)
        work.drain(ix)
        initial_targets = target_set(engine)
        hub.set_rate(0, events_per_block=40)
        hub.advance(15)

        def cursor() -> int:
            with engine.connect() as conn:
                return conn.execute(text("SELECT next_event_id FROM farcaster_shard_cursors WHERE shard_index = 1")).scalar()

        handed: list[list[int]] = []

        def on_staged(ids: list[int]) -> None:
            with engine.connect() as conn:  # committed before it is handed over, with its cursor
                last = conn.execute(text("SELECT max(last_event_id) FROM farcaster_staged_batches WHERE id = ANY(:i)"),
                                    {"i": ids}).scalar()
            assert last < cursor()
            handed.append(ids)

        real_parse, calls = realtime._parse_chunks, []

        def parse_failing_third(relevant, where):
            calls.append(where)
            if len(calls) == 3:
                raise realtime.HubDataError("bad event")
            return real_parse(relevant, where)

        monkeypatch.setattr(realtime, "_parse_chunks", parse_failing_third)
        start = cursor()
        with pytest.raises(realtime.HubDataError, match="bad event"):
            realtime.poll_shard(engine, ix.client, ix.cache, 1, page_size=50, on_staged=on_staged)
        assert len(handed) == 2 and start < cursor()  # two segments committed and handed over
        with engine.connect() as conn:
            staged = conn.execute(text("SELECT id FROM farcaster_staged_batches WHERE shard_index = 1 ORDER BY id")).scalars().all()
        assert staged == [b for ids in handed for b in ids]
        after_two = cursor()

        monkeypatch.setattr(realtime, "_parse_chunks", real_parse)
        handed.clear()
        result = realtime.poll_shard(engine, ix.client, ix.cache, 1, page_size=50, on_staged=on_staged)
        assert len(handed) > 1 and [b for ids in handed for b in ids] == result.staged_batch_ids
        assert result.cursor == cursor() > after_two
        for b in staged + result.staged_batch_ids:
            work.apply_staged(b)
        work.drain(ix)
        catch_up(ix, work, hub)
        truth = hub.ground_truth(roots=[7, 21])
        problems = compare_with_truth(engine, truth, stream_message_hashes(hub), initial_targets)
        assert not problems, "\n".join(problems[:30])
