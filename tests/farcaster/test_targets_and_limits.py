"""Graph expansion and the unfollow policy, client-app signer adds, the shared rate limit and
the beat entries."""
from __future__ import annotations

import base64
import time

from sqlalchemy import text

from app.farcaster import processor, targets
from app.farcaster.batch import Batch
from app.farcaster.rate_limit import RateLimiter
from app.settings import load_settings
from simulators.hub import key_metadata

from . import messages as m


def apply_events(engine, *events):
    batch = Batch()
    for e in events:
        batch.add_event(e)
    with engine.begin() as conn:
        return processor.apply_batch(conn, batch)


def current_targets(engine) -> dict[int, tuple]:
    with engine.connect() as conn:
        return {r.fid: (r.is_root, r.followed_by_root, r.client_app_fid)
                for r in conn.execute(text("SELECT * FROM farcaster_targets"))}


def test_follows_of_roots_become_targets_and_unfollow_drops_them_when_no_root_follows(engine):
    with engine.begin() as conn:
        targets.add_manual(conn, 1, root=True)
        targets.add_manual(conn, 2, root=True)
        targets.add_manual(conn, 3, root=False)
    f1, f2, f3 = m.link("ADD", 1, 100, "f1", 5), m.link("ADD", 2, 100, "f2", 5), m.link("ADD", 3, 100, "f3", 6)
    result = apply_events(engine, m.merge(f1), m.merge(f2), m.merge(f3))
    assert result.targets.added == {5}  # 6 is followed by a non-root: no expansion
    assert [f for _, f in result.backfill_requests] == [5]
    assert current_targets(engine)[5] == (False, True, None)
    u1 = m.link("REMOVE", 1, 110, "u1", 5)
    assert apply_events(engine, m.merge(u1, [f1])).targets.removed == set()  # root 2 still follows 5
    u2 = m.link("REMOVE", 2, 110, "u2", 5)
    assert apply_events(engine, m.merge(u2, [f2])).targets.removed == {5}
    assert 5 not in current_targets(engine)
    apply_events(engine, m.merge(m.cast(5, 120, "c5")))  # rows of a dropped target stay; nothing is deleted
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM farcaster_links WHERE target_fid = 5")).scalar() == 4


def test_signer_add_requested_by_a_client_app_makes_a_root(engine):
    with engine.begin() as conn:
        targets.add_client_app(conn, 42)

    def signer_add(user: int, app: int, log_index: int) -> dict:
        metadata = key_metadata.encode(app, b"\x11" * 20, b"\x22" * 65, 1_900_000_000)
        return {"type": "HUB_EVENT_TYPE_MERGE_ON_CHAIN_EVENT", "id": 9, "mergeOnChainEventBody": {"onChainEvent": {
            "type": "EVENT_TYPE_SIGNER", "chainId": 10, "blockNumber": 1, "blockHash": "0x" + "ab" * 32,
            "blockTimestamp": 1752105600, "transactionHash": "0x" + "cd" * 32, "logIndex": log_index, "fid": user,
            "signerEventBody": {"key": "0x" + "ee" * 32, "keyType": 1, "eventType": "SIGNER_EVENT_TYPE_ADD",
                                "metadata": base64.b64encode(metadata).decode(), "metadataType": 1},
            "tier_purchase_event_body": None, "txIndex": 0, "version": 2}}}

    result = apply_events(engine, signer_add(77, 42, 1), signer_add(78, 43, 2))  # 43 is not a client app
    assert result.targets.added == {77}
    assert current_targets(engine) == {77: (True, False, 42)}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT request_fid FROM farcaster_onchain_events ORDER BY log_index")).scalars().all() == [42, 43]


def test_rate_limit_is_shared_by_every_client(cache_redis):
    now = [1_000_000.0]
    cache_redis.delete("farcaster:test:tokens")
    limiters = [RateLimiter(cache_redis, rate_per_second=40, key="farcaster:test:tokens", clock=lambda: now[0])
                for _ in range(3)]
    # 60 requests at 40/s with a one-second burst, taking turns: 40 go at once, whoever asks.
    waits = [limiter.try_acquire() for _ in range(20) for limiter in limiters]
    assert waits[:40] == [0.0] * 40
    assert waits[40:] == [0.025] * 20  # one token's worth of time, none taken
    now[0] += 0.5  # half a second refills 20 tokens, for all three
    assert [limiter.try_acquire() for _ in range(7) for limiter in limiters][:21] == [0.0] * 20 + [0.025]


def test_rate_limit_runs_on_redis_clock_not_the_clients(cache_redis, monkeypatch):
    # Hosts with skewed clocks: one an hour ahead (would refill the bucket), one an hour behind.
    slow = RateLimiter(cache_redis, rate_per_second=0.01, key="farcaster:test:skew")  # one token, 100 s refill
    assert slow.try_acquire() == 0
    real_time = time.time
    for skew in (3600, -3600):
        monkeypatch.setattr(time, "time", lambda skew=skew: real_time() + skew)
        other_host = RateLimiter(cache_redis, rate_per_second=0.01, key="farcaster:test:skew")
        assert other_host.try_acquire() > 0, f"a client clock {skew:+d} s off refilled the shared bucket"


def test_beat_polls_recovers_and_reconciles_unless_disabled():
    from app.platform.beat import build_schedule

    schedule = build_schedule(load_settings(realtime_poll_interval_seconds=1))
    assert schedule["farcaster-poll-shards"]["task"] == "farcaster.poll_shards"
    assert {"farcaster-recover", "farcaster-reconcile-all"} <= set(schedule)
    assert not any(k.startswith("farcaster") for k in build_schedule(load_settings(farcaster_beat_enabled=False)))
