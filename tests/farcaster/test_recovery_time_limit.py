"""Recovery re-sends a running backfill only once its pool's hard time limit (as configured) is over."""
from __future__ import annotations

from sqlalchemy import text

from app.settings import get_settings

from .helpers import make_indexer


def _running_request(engine, fid: int, started_seconds_ago: int) -> int:
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM farcaster_backfill_requests WHERE fid = :f"), {"f": fid})
        return conn.execute(text("""
            INSERT INTO farcaster_backfill_requests (fid, reason, state, started_at)
            VALUES (:f, 'test', 'running', now() - make_interval(secs => :ago)) RETURNING id
        """), {"f": fid, "ago": started_seconds_ago}).scalar_one()


def _resent(work) -> list[int]:
    """Request ids re-sent (a backfill task takes a list of them)."""
    return [request_id for item in work.work if item[0] == "backfill" for request_id in item[1]]


def test_a_backfill_running_within_a_raised_time_limit_is_not_started_again(engine, cache_redis, monkeypatch):
    monkeypatch.setenv("BACKFILL_TIME_LIMIT", "3600")
    get_settings.cache_clear()
    try:
        ix, work = make_indexer(engine, cache_redis, "http://127.0.0.1:9")
        assert ix.backfill_time_limit == 3600
        busy = _running_request(engine, 900001, started_seconds_ago=2000)  # past 1800 s, within 3600 s
        lost = _running_request(engine, 900002, started_seconds_ago=3700)
        ix.recover(60)
        assert lost in _resent(work) and busy not in _resent(work)
    finally:
        get_settings.cache_clear()


def test_the_default_limit_is_the_pools(engine, cache_redis):
    ix, work = make_indexer(engine, cache_redis, "http://127.0.0.1:9")
    assert ix.backfill_time_limit == get_settings().pool("backfill").time_limit == 1800
    stranded = _running_request(engine, 900003, started_seconds_ago=2000)
    ix.recover(60)
    assert stranded in _resent(work)


def _running_replay(engine, started_seconds_ago: int) -> int:
    with engine.begin() as conn:
        return conn.execute(text("""
            INSERT INTO farcaster_replays (fids, from_event_ids, reason, state, created_at)
            VALUES (ARRAY[900004]::bigint[], '{}'::jsonb, 'test', 'running', now() - make_interval(secs => :ago))
            RETURNING id
        """), {"ago": started_seconds_ago}).scalar_one()


def _replay_state(engine, replay_id: int) -> str:
    with engine.connect() as conn:
        return conn.execute(text("SELECT state FROM farcaster_replays WHERE id = :i"), {"i": replay_id}).scalar_one()


def test_a_replay_running_within_the_backfill_pools_raised_limit_is_left_running(engine, cache_redis, monkeypatch):
    monkeypatch.setenv("BACKFILL_TIME_LIMIT", "3600")
    get_settings.cache_clear()
    try:
        ix, _ = make_indexer(engine, cache_redis, "http://127.0.0.1:9")
        busy, lost = _running_replay(engine, 2000), _running_replay(engine, 3700)
        ix.recover(60)
        assert _replay_state(engine, busy) == "running"
        assert _replay_state(engine, lost) != "running"
    finally:
        get_settings.cache_clear()
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM farcaster_replays WHERE reason = 'test'"))
