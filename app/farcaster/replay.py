"""Retroactive relevance: the events about fids that just became targets, applied again.

The race: a follow at hub time T (shard 1) makes F a target, but the poller of shard 2 may
already have filtered F's later messages (a cast remove a few blocks on) with the old target
set, and F's backfill reads the hub's current state, which no longer lists what that remove
displaced. So whenever fids become targets, a replay is recorded in the same transaction:
per shard, the stream position from which the events about them are applied again -

- for targets made by a stream event (a staged batch starting at event E on shard s): on
  every shard, the cursor's mark from before E's hub time, less REPLAY_SKEW_SECONDS (shards'
  block clocks differ a little); see ``farcaster_shard_marks``;
- for targets made otherwise (an operator, a backfill, a scan, a reconciliation): each
  shard's cursor at that moment (events before it were read when the fid did not matter).

A replay pass takes every pending replay at once (one pass per burst of new targets, not
one per fid), first puts their fids in the Redis target set, then reads each shard's cursor
under the cursor row's lock - so a poll that filtered with the old set has committed, and
every later poll filters with the new one - and applies, through the processor, the events
between the start and that cursor that concern those fids. The processor's rules are
order-free and idempotent, so applying an event twice, or after the backfill, changes nothing.
The hub keeps about three days of events, which bounds a pass.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import orjson
from sqlalchemy import Connection, Engine, text

from app.farcaster.batch import Batch
from app.farcaster.hub_client import HubClient
from app.farcaster.relevance import event_candidates

log = logging.getLogger(__name__)

SEQ_BITS = 14
HUBBLE_STREAM = 0
REPLAY_SKEW_SECONDS = 30
MARK_RETENTION_DAYS = 4  # longer than the hub's event retention (3 days)


def record_mark(conn: Connection, shard: int, next_event_id: int, block_timestamp: int) -> None:
    conn.execute(text("""
        INSERT INTO farcaster_shard_marks (shard_index, next_event_id, block_timestamp) VALUES (:s, :n, :t)
        ON CONFLICT (shard_index, next_event_id) DO NOTHING
    """), {"s": shard, "n": next_event_id, "t": block_timestamp})


def prune_marks(conn: Connection) -> int:
    """Marks older than the hub's retention, keeping each shard's newest."""
    return conn.execute(text("""
        DELETE FROM farcaster_shard_marks m WHERE created_at < now() - make_interval(days => :d)
          AND next_event_id < (SELECT max(next_event_id) FROM farcaster_shard_marks n WHERE n.shard_index = m.shard_index)
    """), {"d": MARK_RETENTION_DAYS}).rowcount


def current_positions(conn: Connection) -> dict[int, int]:
    return dict(conn.execute(text("SELECT shard_index, next_event_id FROM farcaster_shard_cursors")).all())


def positions_since(conn: Connection, shard: int, event_id: int) -> dict[int, int]:
    """Per shard, where to start so every event from the hub time of ``event_id`` on is read."""
    ts = conn.execute(text("""
        SELECT block_timestamp FROM farcaster_shard_marks WHERE shard_index = :s AND next_event_id <= :e
        ORDER BY next_event_id DESC LIMIT 1
    """), {"s": shard, "e": event_id}).scalar()
    rows = conn.execute(text("""
        SELECT c.shard_index, (SELECT max(m.next_event_id) FROM farcaster_shard_marks m
                               WHERE m.shard_index = c.shard_index AND m.block_timestamp < :t) AS start
        FROM farcaster_shard_cursors c
    """), {"t": (ts if ts is not None else 0) - REPLAY_SKEW_SECONDS}).all()
    out = {r.shard_index: r.start if r.start is not None else 0 for r in rows}  # 0: the oldest event retained
    out[shard] = min(out.get(shard, event_id), event_id)
    return out


def request(conn: Connection, fids: Iterable[int], *, since: tuple[int, int] | None, reason: str) -> int | None:
    """Record a replay for ``fids`` (targets just added); ``since`` = (shard, event id) of the
    stream event that made them targets, or None (then: from every shard's cursor)."""
    fids = sorted(set(fids))
    if not fids:
        return None
    start = positions_since(conn, *since) if since is not None else current_positions(conn)
    if not start:
        return None  # no stream read yet: nothing was filtered without them
    return conn.execute(text("""
        INSERT INTO farcaster_replays (fids, from_event_ids, reason) VALUES (:f, CAST(:p AS jsonb), :r) RETURNING id
    """), {"f": fids, "p": orjson.dumps({str(k): v for k, v in start.items()}).decode(), "r": reason[:64]}).scalar()


@dataclass
class ReplayResult:
    replays: int = 0
    fids: int = 0
    events_read: int = 0
    events_applied: int = 0

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def _claim(engine: Engine) -> tuple[list[int], set[int], dict[int, int]]:
    with engine.begin() as conn:
        rows = conn.execute(text("""
            UPDATE farcaster_replays SET state = 'running'
            WHERE id IN (SELECT id FROM farcaster_replays WHERE state = 'pending' ORDER BY id FOR UPDATE SKIP LOCKED)
            RETURNING id, fids, from_event_ids
        """)).all()
    fids: set[int] = set()
    start: dict[int, int] = {}
    for r in rows:
        fids |= set(r.fids)
        for shard, event_id in r.from_event_ids.items():
            start[int(shard)] = min(start.get(int(shard), event_id), event_id)
    return [r.id for r in rows], fids, start


def _end_positions(engine: Engine, shards: Iterable[int]) -> dict[int, int]:
    """Each shard's cursor, read under its row lock: a poll in flight (which may have filtered
    with the old target set) has committed by then, and later polls see the new set."""
    out = {}
    for shard in sorted(shards):
        with engine.begin() as conn:
            cursor = conn.execute(text("SELECT next_event_id FROM farcaster_shard_cursors WHERE shard_index = :s "
                                       "FOR UPDATE"), {"s": shard}).scalar()
        if cursor is not None:
            out[shard] = cursor
    return out


def _stream(client: HubClient, shard: int, start: int, end: int, page_size: int) -> Iterator[list[dict]]:
    """Pages of the shard's events with ids in [start, end)."""
    from_id = start
    while from_id < end:
        if shard == HUBBLE_STREAM:
            body = client.events(None, from_id)
            page, next_id = body["events"], body.get("nextPageEventId")
        else:
            page = client.events(shard, from_id, page_size)["events"]
            next_id = page[-1]["id"] + 1 if page else None
        inside = [e for e in page if isinstance(e, dict) and isinstance(e.get("id"), int) and e["id"] < end]
        if inside:
            yield inside
        if not page or len(inside) < len(page) or not isinstance(next_id, int) or next_id <= from_id:
            return
        from_id = next_id


def run_pending(engine: Engine, client: HubClient, *, add_to_cache: Callable[[list[int]], None],
                apply: Callable[[Batch, tuple[int, int]], None], page_size: int = 1000) -> ReplayResult:
    """One pass over every pending replay. ``add_to_cache(fids)`` mirrors the still-current
    targets into Redis; ``apply(batch, (shard, first event id))`` applies one page's events
    about them (the processor, in its own transaction)."""
    ids, fids, start = _claim(engine)
    result = ReplayResult(replays=len(ids))
    if not ids:
        return result
    try:
        with engine.connect() as conn:
            fids = set(conn.execute(text("SELECT fid FROM farcaster_targets WHERE fid = ANY(:f)"),
                                    {"f": sorted(fids)}).scalars())
        result.fids = len(fids)
        if fids:
            add_to_cache(sorted(fids))
            end = _end_positions(engine, start)
            for shard, first in sorted(start.items()):
                for page in _stream(client, shard, first, end.get(shard, first), page_size):
                    result.events_read += len(page)
                    batch = Batch()
                    kept = 0
                    for e in page:
                        where = f"replay shard {shard} event {e['id']}"
                        candidates, _app = event_candidates(e, where)
                        if fids.intersection(candidates):
                            batch.add_event(e, where)
                            kept += 1
                    if kept:
                        apply(batch, (shard, page[0]["id"]))
                        result.events_applied += kept
    except BaseException:
        with engine.begin() as conn:
            conn.execute(text("UPDATE farcaster_replays SET state = 'pending' WHERE id = ANY(:i)"), {"i": ids})
        raise
    with engine.begin() as conn:
        conn.execute(text("UPDATE farcaster_replays SET state = 'done', finished_at = now(), events = :n "
                          "WHERE id = ANY(:i)"), {"i": ids, "n": result.events_applied})
    log.info("farcaster replay: %d requests, %d fids, %d events read, %d applied",
             result.replays, result.fids, result.events_read, result.events_applied)
    return result


def reset_stranded(conn: Connection, older_than_seconds: float) -> int:
    """Replays left running by a worker that died: pending again."""
    return conn.execute(text("""
        UPDATE farcaster_replays SET state = 'pending'
        WHERE state = 'running' AND created_at < now() - make_interval(secs => :a)
    """), {"a": older_than_seconds + 1800}).rowcount
