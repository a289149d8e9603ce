"""Fidelity to the hub in the hard cases: targets that appear while the stream moves on
(retroactive relevance), retention gaps, gasless signers, revocation rules, unknown kinds.
Each scenario is scripted on a quiet simulated hub (blocks carry only the scripted events)
and ends with every target's rows, active and soft-deleted, equal to the hub's truth."""
from __future__ import annotations

from sqlalchemy import text

from app.farcaster import realtime
from simulators.hub.testing import running_hub

from .helpers import compare_with_truth, db_states, make_indexer, stream_message_hashes, target_set
from .test_backfill_domain import catch_up


def _fid_on(hub, shard: int, *, casts: int = 2, exclude=()) -> int:
    net = hub.network
    for fid in net.shard_fids[shard]:
        if fid in exclude:
            continue
        st = net.fid_state(fid)
        if sum(1 for m in st.stores["casts"].items if m.type == 1) >= casts:
            return fid
    raise AssertionError(f"no fid with {casts} casts on shard {shard}")


def _poll(ix, work, shard: int) -> None:
    result = realtime.poll_shard(ix.engine, ix.client, ix.cache, shard)
    for b in result.staged_batch_ids:
        work.apply_staged(b)


def _assert_truth(engine, hub, roots, client_apps=()) -> None:
    truth = hub.ground_truth(roots=roots, client_apps=client_apps)
    assert target_set(engine) == truth.targets
    problems = compare_with_truth(engine, truth, stream_message_hashes(hub), truth.targets)
    assert not problems, "\n".join(problems[:30])


def test_a_new_targets_delete_on_another_shard_before_expansion_is_stored(engine, cache_redis):
    """A root's follow on shard 1, the followed fid's cast remove on shard 2 three blocks later;
    shard 2 is filtered before the follow is applied (expansion delayed). The replay stores
    the removed cast as deleted by the remove, which no backfill could (the hub lists only the
    remove now). Two new targets in one burst cost one replay pass."""
    with running_hub(num_fids=120, seed=3) as hub:
        hub.network.stream.quiet = True
        ix, work = make_indexer(engine, cache_redis, hub.url)
        realtime.ensure_cursors(engine, ix.client)
        root = _fid_on(hub, 1, casts=0)
        ix.add_target(root, root=True)
        work.drain(ix)
        before = target_set(engine)
        followed = _fid_on(hub, 2, exclude=before)
        other = _fid_on(hub, 2, exclude=before | {followed})
        hub.script(1, lambda b: (b.follow(root, followed), b.follow(root, other)))
        hub.advance(1)
        hub.advance(2)
        removes = []
        hub.script(2, lambda b: removes.append(b.cast_remove(followed)))
        hub.advance(1)
        removed_cast = removes[0].body["target_hash"]

        _poll(ix, work, 2)  # the remove is filtered while `followed` is not a target yet
        _poll(ix, work, 1)  # the follow: two new targets
        passes = []
        real_run = ix.run_replays
        ix.run_replays = lambda: passes.append(real_run()) or passes[-1]  # type: ignore[method-assign]
        work.drain(ix)

        state = db_states(engine, [followed])[followed]
        assert state["0x" + removed_cast.hex()] == ("deleted", "0x" + removes[0].hash.hex())
        worked = [p for p in passes if p["replays"]]
        assert len(worked) == 1 and worked[0]["fids"] == 2 and worked[0]["events_applied"] >= 1
        catch_up(ix, work, hub)
        _assert_truth(engine, hub, [root])
