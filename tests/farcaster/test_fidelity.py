"""Fidelity to the hub in the hard cases: targets that appear while the stream moves on
(retroactive relevance), retention gaps, gasless signers, revocation rules, unknown kinds.
Each scenario is scripted on a quiet simulated hub (blocks carry only the scripted events)
and ends with every target's rows, active and soft-deleted, equal to the hub's truth."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from app.farcaster import realtime
from simulators.hub.testing import running_hub

from .helpers import HTTP_LISTED, compare_with_truth, db_states, make_indexer, stream_message_hashes, target_set
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


def test_a_client_app_signer_add_inside_a_pruned_range_is_found_by_the_gap_recovery(engine, cache_redis):
    """A user signs in to a client app while the indexer is away for longer than the hub
    keeps events. Both shards see the gap; one recovery runs discovery for the app again and
    reconciles every target once: the user becomes a root, with its follows."""
    with running_hub(num_fids=50, seed=4, retention_seconds=5, num_client_apps=2, client_app_share=0.1) as hub:
        hub.network.stream.quiet = True
        app = hub.network.plan.client_apps[0]
        ix, work = make_indexer(engine, cache_redis, hub.url)
        realtime.ensure_cursors(engine, ix.client)
        ix.add_client_app(app)
        work.discover(app)
        work.drain(ix)
        users_before = target_set(engine)
        user = next(f for f in hub.network.shard_fids[2] if f not in users_before and f != app
                    and hub.network.fid_state(f).stores["links"].items)
        hub.script(2, lambda b: b.signer_add(user, app))
        hub.advance(12)  # the signer add's block is gone from the stream

        results = [realtime.poll_shard(engine, ix.client, ix.cache, s) for s in (1, 2)]
        assert all(r.gap for r in results)
        with engine.connect() as conn:
            recoveries = conn.execute(text("SELECT state, cardinality(reasons) FROM farcaster_gap_recoveries")).all()
        assert recoveries == [("pending", 2)]  # one recovery for both shards' gaps
        summary = ix.recover_gap()
        reconciles = [w[1] for w in work.work if w[0] == "reconcile"]
        assert sorted(reconciles) == sorted(users_before) and summary["client_apps"] == 1
        assert ix.recover_gap() == {"skipped": "no pending gap"}
        work.drain(ix)
        assert user in target_set(engine)
        catch_up(ix, work, hub)
        _assert_truth(engine, hub, [], client_apps=[app])


def _signer_with_most_messages(hub, shard: int, exclude=()) -> tuple[int, int, int]:
    """(fid, signer index >= 1, active messages it signed) with the most such messages."""
    best = (0, 0, 0)
    for fid in hub.network.shard_fids[shard]:
        if fid in exclude:
            continue
        st = hub.network.fid_state(fid)
        for idx in range(1, len(st.signers)):
            n = sum(1 for m in st.messages.values() if m.signer is st.signers[idx] and m.state == "active")
            if n > best[2]:
                best = (fid, idx, n)
    assert best[2], "no fid with a second signer"
    return best


@pytest.mark.parametrize("rule", ["keep", "revoke"])
def test_a_signer_removal_under_both_revocation_rules(engine, cache_redis, rule):
    """Since V14 a removal revokes nothing (the messages stay active, and so do our rows);
    before V14 (and on Hubble) the hub sends REVOKE_MESSAGE per message: rows are revoked.
    The indexer infers nothing from the removal itself; a reconciliation afterwards agrees."""
    with running_hub(num_fids=60, seed=6, revocation=rule) as hub:
        hub.network.stream.quiet = True
        fid, idx, signed = _signer_with_most_messages(hub, 1)
        ix, work = make_indexer(engine, cache_redis, hub.url)
        realtime.ensure_cursors(engine, ix.client)
        ix.add_target(fid, root=True)
        work.drain(ix)
        hub.script(1, lambda b: b.signer_remove(fid, idx))
        hub.advance(1)
        catch_up(ix, work, hub)
        states = db_states(engine, [fid])[fid]
        revoked = [h for h, (s, _) in states.items() if s == "revoked"]
        assert len(revoked) == (signed if rule == "revoke" else 0)
        _assert_truth(engine, hub, [fid])
        assert ix.reconcile(fid)["marked_deleted"] == 0
        _assert_truth(engine, hub, [fid])


def test_a_refused_reconciliation_is_listed_and_can_be_forced(engine, cache_redis, capsys, monkeypatch):
    """Revocations hidden by a gap (an old-rule hub): the rows vanish from the hub, more than
    the guard's ratio, so the reconciliation refuses - visible in the refusals list and the
    metric - until `reconcile FID --allow-deletes` marks them (deleted: the cause is unknown
    to us). Another target's prune in the gap is marked pruned: the hub's storage limits show
    its casts store full."""
    from app.settings import get_settings
    from tests.farcaster.test_cli import run

    settings = get_settings()
    monkeypatch.setattr(settings, "farcaster_reconcile_grace_seconds", 0)
    monkeypatch.setattr(settings, "farcaster_reconcile_max_delete_ratio", 0.01)
    with running_hub(num_fids=60, seed=6, revocation="revoke", retention_seconds=5) as hub:
        hub.network.stream.quiet = True
        fid, idx, signed = _signer_with_most_messages(hub, 1)
        ix, work = make_indexer(engine, cache_redis, hub.url)
        monkeypatch.setattr("app.farcaster.services.indexer", lambda: ix)  # the CLI's indexer: this one
        realtime.ensure_cursors(engine, ix.client)
        pruned_fid = _fid_on(hub, 1, casts=3, exclude={fid})
        ix.add_target(fid, root=False)
        ix.add_target(pruned_fid, root=False)
        work.drain(ix)
        hub.script(1, lambda b: (b.signer_remove(fid, idx), b.prune(pruned_fid)))
        hub.advance(12)  # the revokes and the prune fall out of the hub's retention
        assert realtime.poll_shard(engine, ix.client, ix.cache, 1).gap
        ix.recover_gap()
        work.drain(ix)
        refusals = run(capsys, "farcaster", "reconcile-refusals")
        assert [r["fid"] for r in refusals] == [fid] and refusals[0]["rows"] >= signed // 2

        from app.dashboard.business_metrics import BusinessMetricsCollector
        samples = {s.name: s.value for m in BusinessMetricsCollector(hub_client_factory=None).collect()
                   for s in m.samples}
        assert samples["switchyard_farcaster_reconcile_refused"] == 1

        forced = run(capsys, "farcaster", "reconcile", str(fid), "--allow-deletes")
        assert forced["refused"] is None and forced["marked_deleted"] == refusals[0]["rows"]
        assert run(capsys, "farcaster", "reconcile-refusals") == []
        truth = hub.ground_truth(roots=[fid]).fids[fid]
        states = db_states(engine, [fid])[fid]
        listed = {h for h, t in truth.types.items() if t in HTTP_LISTED} & set(states)  # stored, and listable
        assert {h for h, (s, _) in states.items() if s == "active"} & listed == set(truth.active) & listed
        assert {h for h, (s, _) in states.items() if s == "deleted"} & listed == (truth.revoked | set(truth.deleted)) & listed
        # The other fid's vanished cast was within the guard, and its casts store is full: pruned.
        pruned_truth = hub.ground_truth(roots=[pruned_fid]).fids[pruned_fid]
        assert len(pruned_truth.pruned) == 1
        assert {h for h, (s, _) in db_states(engine, [pruned_fid])[pruned_fid].items() if s == "pruned"} == \
            pruned_truth.pruned


def _gasless_rows(engine, fid: int) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("""
            SELECT chain_id, signer_event_type, request_fid, log_index FROM farcaster_onchain_events
            WHERE fid = :f AND chain_id = 0 ORDER BY log_index"""), {"f": fid})]


def _app_and_new_user(hub):
    """A client app and a fid on shard 2 that is no target of it (not a user, not followed by one)."""
    app = hub.network.plan.client_apps[0]
    known = hub.ground_truth(client_apps=[app]).targets
    user = next(f for f in hub.network.shard_fids[2] if f not in known and f != app
                and hub.network.fid_state(f).stores["links"].items
                and app not in hub.network.plan.signer_apps[f - 1])
    return app, user


def test_a_client_app_user_signing_in_with_a_gasless_key_becomes_a_root_in_realtime(engine, cache_redis):
    with running_hub(num_fids=50, seed=4, num_client_apps=2, client_app_share=0.1) as hub:
        hub.network.stream.quiet = True
        ix, work = make_indexer(engine, cache_redis, hub.url)
        realtime.ensure_cursors(engine, ix.client)
        app, user = _app_and_new_user(hub)
        ix.add_client_app(app)
        work.discover(app)
        work.drain(ix)
        assert user not in target_set(engine)
        hub.script(2, lambda b: b.key_add(user, app))
        hub.advance(1)
        catch_up(ix, work, hub)
        assert user in target_set(engine)
        # The KEY_ADD from the stream and the user's backfill (signersByFid) are one row.
        assert _gasless_rows(engine, user) == [(0, "SIGNER_EVENT_TYPE_ADD", app, 2)]
        _assert_truth(engine, hub, [], client_apps=[app])
        hub.script(2, lambda b: b.key_remove(user))  # the removal is stored too, and revokes nothing
        hub.advance(1)
        catch_up(ix, work, hub)
        assert [r[1] for r in _gasless_rows(engine, user)] == ["SIGNER_EVENT_TYPE_ADD", "SIGNER_EVENT_TYPE_REMOVE"]
        _assert_truth(engine, hub, [], client_apps=[app])


def test_a_client_app_user_with_a_gasless_key_is_found_by_a_scan(engine, cache_redis):
    with running_hub(num_fids=50, seed=4, num_client_apps=2, client_app_share=0.1) as hub:
        hub.network.stream.quiet = True
        ix, work = make_indexer(engine, cache_redis, hub.url)
        app, user = _app_and_new_user(hub)
        hub.script(2, lambda b: b.key_add(user, app))
        hub.advance(2)  # before the indexer starts: only a scan can find it
        realtime.ensure_cursors(engine, ix.client)
        ix.add_client_app(app)
        work.discover(app)
        work.drain(ix)
        assert user in target_set(engine)
        assert _gasless_rows(engine, user) == [(0, "SIGNER_EVENT_TYPE_ADD", app, 2)]
        _assert_truth(engine, hub, [], client_apps=[app])


def test_unknown_event_and_message_types_and_fields_are_skipped_and_counted(engine, cache_redis, capsys, monkeypatch):
    """A block with an event type from the future, a channel-owner hint, a channel message and
    a frame-like unknown message type by a target, and a cast with body fields this code does
    not know: the poll and the backfill go on, the cast is stored, the rest counted per kind."""
    from simulators.hub import shapes
    from tests.farcaster.test_cli import run

    with running_hub(num_fids=40, seed=8) as hub:
        hub.network.stream.quiet = True
        fid = _fid_on(hub, 1, casts=1)
        ix, work = make_indexer(engine, cache_redis, hub.url)
        monkeypatch.setattr("app.farcaster.services.indexer", lambda: ix)
        realtime.ensure_cursors(engine, ix.client)
        ix.add_target(fid, root=True)
        work.drain(ix)
        message = {"data": {"type": "MESSAGE_TYPE_CHANNEL_MEMBER", "fid": fid, "timestamp": 150000001,
                            "network": "FARCASTER_NETWORK_MAINNET",
                            "channelMemberBody": {"channelId": "0xabcd", "action": "CHANNEL_MEMBER_ACTION_ADD_MEMBER"}},
                   "hash": "0x" + "ab" * 20, "hashScheme": "HASH_SCHEME_BLAKE3", "signature": "AAAA",
                   "signatureScheme": "SIGNATURE_SCHEME_ED25519", "signer": "0x" + "cd" * 32}
        future = dict(message, data=dict(message["data"], type="MESSAGE_TYPE_FUTURE_THING", futureThingBody={"x": 1}))
        casts = []

        def block(b):
            b.raw_event({"type": "HUB_EVENT_TYPE_SOMETHING_NEW", "somethingNewBody": {"fid": fid, "anything": [1, 2]}})
            b.raw_event({"type": "HUB_EVENT_TYPE_CHANNEL_OWNER_CHANGE_HINT", "channelOwnerChangeHintBody": {"fid": fid}})
            b.raw_event({"type": "HUB_EVENT_TYPE_MERGE_MESSAGE", "mergeMessageBody": {"message": message,
                                                                                      "deletedMessages": []}})
            b.raw_event({"type": "HUB_EVENT_TYPE_MERGE_MESSAGE", "mergeMessageBody": {"message": future,
                                                                                      "deletedMessages": []}})
            m = b.cast(fid, "hello from the future")
            obj = shapes.message_obj(m)
            obj["data"]["castAddBody"]["futureField"] = {"nested": True}
            obj["data"]["futureEnvelopeField"] = 7
            m._json[shapes.SNAPCHAIN] = shapes.dumps(obj)
            casts.append(m)

        hub.script(1, block)
        hub.advance(1)
        result = realtime.poll_shard(engine, ix.client, ix.cache, 1)
        assert result.events == 6 and result.blocks == 1
        for b in result.staged_batch_ids:
            work.apply_staged(b)
        catch_up(ix, work, hub)
        assert db_states(engine, [fid])[fid]["0x" + casts[0].hash.hex()] == ("active", None)
        counts = {r["kind"]: r["count"] for r in run(capsys, "farcaster", "skipped")}
        assert counts == {"event:HUB_EVENT_TYPE_SOMETHING_NEW": 1, "message:MESSAGE_TYPE_CHANNEL_MEMBER": 1,
                          "message:MESSAGE_TYPE_FUTURE_THING": 1}
        from app.dashboard.business_metrics import BusinessMetricsCollector
        samples = {(s.name, s.labels.get("kind")): s.value
                   for m in BusinessMetricsCollector(hub_client_factory=None).collect() for s in m.samples}
        assert samples[("switchyard_farcaster_skipped_total", "event:HUB_EVENT_TYPE_SOMETHING_NEW")] == 1
        ix.reconcile(fid)  # a backfill over the same fid: nothing unknown there, nothing fails
        _assert_truth(engine, hub, [fid])


def test_recovery_resends_a_replay_and_a_gap_recovery_whose_message_was_lost(engine, cache_redis, hub_sim):
    from app.farcaster import gaps, replay

    ix, work = make_indexer(engine, cache_redis, hub_sim.url)
    realtime.ensure_cursors(engine, ix.client)
    with engine.begin() as conn:
        assert replay.request(conn, [5], since=None, reason="test") is not None
        gaps.request(conn, "test gap")
    realtime.ensure_cursors(engine, ix.client)  # existing cursors: no new mark
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM farcaster_shard_marks")).scalar() == 2
    summary = ix.recover(0)
    assert (summary["replays"], summary["gap_recoveries"]) == (1, 1)
    assert ("replay",) in work.work
    with engine.connect() as conn:
        assert conn.execute(text("SELECT state FROM farcaster_gap_recoveries")).scalar() == "done"
