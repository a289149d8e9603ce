"""Latency hiding: several fids per backfill task (claimed together, stored in shared
transactions) and the realtime poller's read-ahead, against the simulator's ground truth."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from app.farcaster import backfill, realtime
from app.farcaster.hub_client import HubUnavailable
from app.farcaster.relevance import relevant_events
from simulators.hub.testing import running_hub

from .helpers import compare_with_truth, db_states, make_indexer, target_set

STORED = ("farcaster_casts", "farcaster_cast_removes", "farcaster_reactions", "farcaster_links",
          "farcaster_verifications", "farcaster_user_data", "farcaster_onchain_events", "farcaster_username_proofs",
          "farcaster_profiles")


def onchain_rows(engine) -> set[tuple]:
    with engine.connect() as conn:
        return set(conn.execute(text("SELECT fid, transaction_hash, log_index, event_type FROM farcaster_onchain_events")))


def row_counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in STORED}


def drain_recording_task_sizes(ix, work) -> list[int]:
    """Run the enqueued work (and what it enqueues); returns the size of every backfill task."""
    sizes: list[int] = []
    send = work.backfill
    work.backfill = lambda ids: (sizes.append(len(ids)), send(ids))
    sizes += [len(item[1]) for item in work.work if item[0] == "backfill"]
    work.drain(ix)
    return sizes


def test_several_fids_per_task_store_the_same_rows_as_one_at_a_time_equal_to_ground_truth(engine, cache_redis, hub_sim):
    roots = [7, 21, 33, 45]
    ix, work = make_indexer(engine, cache_redis, hub_sim.url)
    for root in roots:
        ix.add_target(root, root=True)
    sizes = drain_recording_task_sizes(ix, work)
    assert max(sizes) > 1, sizes  # the roots' follows were sent several per task
    truth = hub_sim.ground_truth(roots=roots)
    assert target_set(engine) == truth.targets and len(truth.targets) > 8

    def backfill_again(groups: list[list[int]]) -> None:
        with engine.begin() as conn:  # from empty tables
            conn.execute(text(f"TRUNCATE {', '.join(STORED)}"))
            conn.execute(text("UPDATE farcaster_targets SET last_backfilled_at = NULL"))
            ids = dict((fid, r) for r, fid in backfill.request_backfills(conn, sorted(truth.targets), reason="again"))
        for group in groups:
            assert ix.run_backfills([ids[f] for f in group], fids_in_flight=4)["fids"] == len(group)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM farcaster_backfill_requests WHERE state <> 'done'")).scalar() == 0
            assert conn.execute(text("SELECT count(*) FROM farcaster_targets WHERE last_backfilled_at IS NULL")).scalar() == 0

    backfill_again([sorted(truth.targets)])  # every fid in one task
    problems = compare_with_truth(engine, truth, set())
    assert not problems, "\n".join(problems[:30])
    batched, batched_onchain, batched_counts = db_states(engine, truth.targets), onchain_rows(engine), row_counts(engine)
    backfill_again([[f] for f in sorted(truth.targets)])  # one at a time
    assert db_states(engine, truth.targets) == batched
    assert onchain_rows(engine) == batched_onchain and row_counts(engine) == batched_counts


def test_a_redelivered_multi_fid_task_is_idempotent(engine, cache_redis, hub_sim):
    """The first delivery dies part-way (the hub fails for some fids): the others are stored and
    closed, the task raises for a retry; the retry does only what is open; a third delivery
    changes nothing."""
    ix, work = make_indexer(engine, cache_redis, hub_sim.url, attempts=1)
    roots = [7, 21, 33, 45]
    for root in roots:
        ix.add_target(root, root=True)
    work.drain(ix)
    truth = hub_sim.ground_truth(roots=roots)
    fids = sorted(truth.targets)
    assert len(fids) > 5
    with engine.begin() as conn:  # their data again, as one fresh multi-fid task
        for table in STORED:
            conn.execute(text(f"DELETE FROM {table} WHERE fid = ANY(:f)"), {"f": fids})
        ids = [r for r, _ in backfill.request_backfills(conn, fids, reason="again")]

    hub_sim.faults.inject("error", count=3, path_prefix="/v1/linksByFid", status=503)
    with pytest.raises(HubUnavailable):
        ix.run_backfills(ids, fids_in_flight=2)
    with engine.connect() as conn:
        states = dict(conn.execute(text("SELECT state, count(*) FROM farcaster_backfill_requests "
                                        "WHERE id = ANY(:i) GROUP BY state"), {"i": ids}).all())
    assert states.get("done", 0) >= 1 and states.get("running", 0) >= 1 and "failed" not in states

    retry = ix.run_backfills(ids)
    assert retry["skipped"] == states["done"] and retry["fids"] == states["running"] and not retry["failed"]
    problems = compare_with_truth(engine, truth, set())
    assert not problems, "\n".join(problems[:30])
    before, counts = db_states(engine, truth.targets), row_counts(engine)

    again = ix.run_backfills(ids)
    assert again["fids"] == 0 and again["skipped"] == len(ids)
    assert db_states(engine, truth.targets) == before and row_counts(engine) == counts


def test_backfill_requests_are_sent_several_per_task(engine, cache_redis, hub_sim, monkeypatch):
    from app.settings import get_settings

    monkeypatch.setattr(get_settings(), "farcaster_backfill_fids_per_task", 4)
    ix, work = make_indexer(engine, cache_redis, hub_sim.url)
    with engine.begin() as conn:
        requests = backfill.request_backfills(conn, range(1, 11), reason="test")
    ix.send_backfills(requests)
    assert [len(item[1]) for item in work.work] == [4, 4, 2]
    assert sorted(r for item in work.work for r in item[1]) == sorted(r for r, _ in requests)


# --- the realtime poller's read-ahead --------------------------------------------------------

def _stream_fixture(engine, cache_redis, hub):
    ix, _ = make_indexer(engine, cache_redis, hub.url)
    with engine.begin() as conn:  # every fid a target: nearly every event is staged
        conn.execute(text("""INSERT INTO farcaster_targets (fid, is_root, manual, manual_root, followed_by_root)
                             SELECT f, false, true, false, false FROM generate_series(1, 60) f"""))
    ix.cache.rebuild()
    start = realtime.ensure_cursors(engine, ix.client)[1]
    hub.set_rate(0, events_per_block=30)
    hub.advance(25)
    return ix, start


def _expected_relevant_ids(ix, start: int) -> list[int]:
    """Shard 1's relevant event ids from ``start``, read page by page without the poller."""
    events, cursor = [], start
    while page := ix.client.events(1, cursor, 1000)["events"]:
        events += page
        cursor = page[-1]["id"] + 1
    return [e["id"] for e in relevant_events(events, ix.cache)]


def _assert_staged_once_in_order(engine, expected: list[int]) -> None:
    with engine.connect() as conn:
        batches = conn.execute(text("SELECT first_event_id, last_event_id, event_count FROM farcaster_staged_batches "
                                    "WHERE shard_index = 1 ORDER BY id")).all()
    assert batches
    previous_last = -1
    for first, last, count in batches:  # staged in stream order, no event twice, none left out
        assert previous_last < first <= last
        assert first in expected and last in expected
        assert expected.index(last) - expected.index(first) + 1 == count
        previous_last = last
    assert sum(b.event_count for b in batches) == len(expected)


def _poll_until_caught_up(engine, ix, page_size: int) -> None:
    for _ in range(50):
        result = realtime.poll_shard(engine, ix.client, ix.cache, 1, page_size=page_size, max_pages=6)
        assert result.mismatches == 0  # a block cut by a page is carried to the next segment whole
        if result.events == 0:
            return
    raise AssertionError("did not catch up")


def test_read_ahead_keeps_stream_order(engine, cache_redis, monkeypatch):
    monkeypatch.setattr(realtime, "STAGE_CHUNK_EVENTS", 60)  # segments of two 30-event pages
    with running_hub(num_fids=60, seed=4) as hub:
        ix, start = _stream_fixture(engine, cache_redis, hub)
        pages: list[int] = []
        real_events = ix.client.events
        monkeypatch.setattr(ix.client, "events", lambda s, f, n=1000: pages.append(f) or real_events(s, f, n))
        _poll_until_caught_up(engine, ix, page_size=30)
        assert len(pages) > 6  # several polls of several segments, each read ahead
        _assert_staged_once_in_order(engine, _expected_relevant_ids(ix, start))


def test_a_failed_read_ahead_neither_skips_nor_duplicates_a_page(engine, cache_redis, monkeypatch):
    monkeypatch.setattr(realtime, "STAGE_CHUNK_EVENTS", 60)
    with running_hub(num_fids=60, seed=4) as hub:
        ix, start = _stream_fixture(engine, cache_redis, hub)
        real_events, calls = ix.client.events, []

        def failing_fifth(shard, from_id, page_size=1000):
            calls.append(from_id)
            if len(calls) == 5:  # fetched ahead, while an earlier segment was being staged
                raise HubUnavailable("simulated: the hub went away")
            return real_events(shard, from_id, page_size)

        monkeypatch.setattr(ix.client, "events", failing_fifth)
        with pytest.raises(HubUnavailable):
            realtime.poll_shard(engine, ix.client, ix.cache, 1, page_size=30, max_pages=20)
        with engine.connect() as conn:
            cursor, staged = conn.execute(text(
                "SELECT c.next_event_id, (SELECT max(last_event_id) FROM farcaster_staged_batches WHERE shard_index = 1) "
                "FROM farcaster_shard_cursors c WHERE shard_index = 1")).one()
        assert start < cursor and staged < cursor  # segments before the failure are committed with their cursor
        monkeypatch.setattr(ix.client, "events", real_events)
        _poll_until_caught_up(engine, ix, page_size=30)
        _assert_staged_once_in_order(engine, _expected_relevant_ids(ix, start))


def test_reconcile_fids_repairs_several_fids_at_once(engine, cache_redis, hub_sim):
    from app.farcaster.reconcile import reconcile_fids

    ix, work = make_indexer(engine, cache_redis, hub_sim.url)
    ix.add_target(7, root=True)
    work.drain(ix)
    truth = hub_sim.ground_truth(roots=[7])
    fids = sorted(truth.targets)
    with engine.begin() as conn:  # rows lost on our side, for every fid
        lost = conn.execute(text("DELETE FROM farcaster_casts WHERE fid = ANY(:f) RETURNING fid"), {"f": fids}).scalars().all()
    assert len(set(lost)) > 1
    results = reconcile_fids(engine, ix.client, fids, grace_seconds=0, max_delete_ratio=0.2, fids_in_flight=2)
    assert [r.fid for r in results] == fids and not any(r.marked_deleted or r.refused for r in results)
    problems = compare_with_truth(engine, truth, set())
    assert not problems, "\n".join(problems[:30])
