"""The subscriber: read one shard's event stream from its cursor, keep the relevant events and
stage them in PostgreSQL in the same transaction that advances the cursor (so the cursor never
passes an event that is not durably stored or staged). The processor applies staged batches.

Snapchain: ids are per shard (``height << 14 | seq``); every block starts with a
BLOCK_CONFIRMED whose ``totalEvents`` counts the block's events including itself. Only whole,
counted blocks are staged; a block whose count does not match is logged and fetched again.
The cursor is the start of the next block. A first event beyond the cursor's block means the
hub no longer has the events in between (retention): the poll records a gap recovery
(gaps.py) in the same transaction and reports it; the caller sends the recovery. Hubble (one stream, ``nextPageEventId``, no block events) uses shard 0;
there, a gap is a jump from the cursor to the hub's oldest retained event.

Polls of one shard never overlap: the cursor row is locked (FOR UPDATE SKIP LOCKED) for the
whole poll; a concurrent poll finds it locked and returns at once.
"""
from __future__ import annotations

import logging
from typing import Any
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, text

from app.farcaster import gaps
from app.farcaster import skipped as skipped_kinds
from app.farcaster.batch import Batch
from app.farcaster.hub_client import HubClient
from app.farcaster.messages import HubDataError
from app.farcaster.relevance import relevant_events
from app.farcaster.replay import record_mark
from app.farcaster.target_cache import TargetCache

log = logging.getLogger(__name__)

SEQ_BITS = 14
HUBBLE_STREAM = 0
HUBBLE_SEQ_BITS = 12  # Hubble event id = (ms since the Farcaster epoch) << 12 | sequence
HUBBLE_QUIET_MS = 1000  # a longer jump to the next event is checked against the hub's oldest event
STAGE_CHUNK_EVENTS = 2000  # events per staged batch: bounds memory of one events task
BLOCK_REFETCHES = 3


@dataclass
class PollResult:
    shard_index: int
    skipped: bool = False  # another poll of this shard holds the cursor
    initialized: bool = False
    events: int = 0
    relevant: int = 0
    blocks: int = 0
    cursor: int | None = None
    staged_batch_ids: list[int] = field(default_factory=list)
    gap: str | None = None  # set when the hub no longer had events after the cursor
    mismatches: int = 0
    handed_over: int = 0  # staged batch ids already given to on_staged

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("shard_index", "skipped", "initialized", "events", "relevant", "blocks",
                                              "cursor", "staged_batch_ids", "gap", "mismatches")}


class IncompleteBlock(HubDataError):
    pass


def stream_shards(info: dict) -> list[int]:
    """Data shards to poll: 1..numShards on Snapchain; [0] (one stream) on Hubble."""
    if "numShards" not in info:
        return [HUBBLE_STREAM]
    n = info["numShards"]
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise HubDataError(f"/v1/info: invalid numShards {n!r}")
    return list(range(1, n + 1))


def head_event_id(info: dict, shard_index: int) -> int:
    """Where a new install starts: the block after the hub's newest one (the per-fid endpoints
    that the backfill reads already reflect every committed block)."""
    if shard_index == HUBBLE_STREAM:
        return 0  # Hubble ids carry no height: start at the oldest retained event (idempotent replay)
    for shard in info.get("shardInfos") or ():
        if isinstance(shard, dict) and shard.get("shardId") == shard_index:
            height = shard.get("maxHeight")
            if isinstance(height, int) and height >= 0:
                return (height + 1) << SEQ_BITS
    raise HubDataError(f"/v1/info: no maxHeight for shard {shard_index}")


def ensure_cursors(engine: Engine, client: HubClient, info: dict | None = None) -> dict[int, int]:
    """Create missing cursors at the hub's current head; returns every shard's cursor."""
    info = info or client.info()
    with engine.begin() as conn:
        for shard in stream_shards(info):
            created = conn.execute(text("""
                INSERT INTO farcaster_shard_cursors (shard_index, next_event_id, hub_head_event_id)
                VALUES (:s, :h, :h) ON CONFLICT (shard_index) DO NOTHING RETURNING next_event_id
            """), {"s": shard, "h": head_event_id(info, shard)}).scalar()
            if created is not None:
                record_mark(conn, shard, created, 0)  # the stream before a new cursor was never read
        return dict(conn.execute(text("SELECT shard_index, next_event_id FROM farcaster_shard_cursors")).all())


def _block_of(event: dict) -> int:
    block = event.get("blockNumber")
    return block if isinstance(block, int) else event["id"] >> SEQ_BITS


def _complete_blocks(events: list[dict], stream_ended: bool, where: str) -> tuple[list[dict], int]:
    """The events of whole, counted blocks at the front of ``events``; (events, blocks).

    Raises IncompleteBlock when a block's count differs from its BLOCK_CONFIRMED.totalEvents
    and more events could not explain it."""
    blocks: list[list[dict]] = []
    for e in events:
        if not blocks or _block_of(e) != _block_of(blocks[-1][0]):
            blocks.append([])
        blocks[-1].append(e)
    kept: list[dict] = []
    count = 0
    for i, block in enumerate(blocks):
        height = _block_of(block[0])
        last = i == len(blocks) - 1
        if i and height != _block_of(blocks[i - 1][0]) + 1:
            raise IncompleteBlock(f"{where}: blocks {_block_of(blocks[i - 1][0])} -> {height} are not consecutive")
        head = block[0]
        if head.get("type") != "HUB_EVENT_TYPE_BLOCK_CONFIRMED":
            raise IncompleteBlock(f"{where}: block {height} does not start with BLOCK_CONFIRMED")
        total = (head.get("blockConfirmedBody") or {}).get("totalEvents")
        if not isinstance(total, int):
            raise HubDataError(f"{where}: block {height}: BLOCK_CONFIRMED without totalEvents")
        if len(block) == total:
            kept += block
            count += 1
            continue
        if last and not stream_ended and len(block) < total:
            break  # the page ended inside this block: read it next time
        raise IncompleteBlock(f"{where}: block {height}: totalEvents {total}, received {len(block)}")
    return kept, count


def _fetch_snapchain(client: HubClient, shard: int, cursor: int, page_size: int, max_pages: int) -> tuple[list[dict], bool]:
    events: list[dict] = []
    from_id = cursor
    for _ in range(max_pages):
        page = client.events(shard, from_id, page_size)["events"]
        if any(not isinstance(e, dict) or not isinstance(e.get("id"), int) for e in page):
            raise HubDataError(f"/v1/events shard {shard}: event without an integer id")
        events += page
        if len(page) < page_size:
            return events, True
        from_id = page[-1]["id"] + 1
    return events, False


def _parse_chunks(relevant: list[dict], where: str) -> list[tuple[list[dict], Batch]]:
    """Parse and validate every relevant event before anything is staged (a batch the processor
    could not read would be lost work: better to fail the poll and keep the cursor), in chunks
    of STAGE_CHUNK_EVENTS events: one staged batch each."""
    chunks = []
    for i in range(0, len(relevant), STAGE_CHUNK_EVENTS):
        chunk = relevant[i:i + STAGE_CHUNK_EVENTS]
        batch = Batch()
        for e in chunk:
            batch.add_event(e, f"{where} event {e.get('id')}")
        chunks.append((chunk, batch))
    return chunks


def _stage(conn: Connection, shard: int, chunks: list[tuple[list[dict], Batch]]) -> list[int]:
    """Stage each chunk in its parsed form (Batch.to_staged), so it is parsed only once."""
    ids = []
    for chunk, batch in chunks:
        blocks = sorted({_block_of(e) for e in chunk}) if shard != HUBBLE_STREAM else []
        row = conn.execute(text("""
            INSERT INTO farcaster_staged_batches (shard_index, first_event_id, last_event_id, event_count, events)
            VALUES (:s, :first, :last, :n, CAST(:events AS json))
            ON CONFLICT (shard_index, first_event_id) DO NOTHING RETURNING id
        """), {"s": shard, "first": chunk[0]["id"], "last": chunk[-1]["id"], "n": len(chunk),
               "events": batch.to_staged(blocks=blocks)}).scalar()
        if row is not None:
            ids.append(row)
    return ids


def poll_shard(engine: Engine, client: HubClient, cache: TargetCache, shard: int, *,
               page_size: int = 1000, max_pages: int = 20,
               on_staged: Callable[[list[int]], None] | None = None) -> PollResult:
    """Read up to ``max_pages`` pages of the shard's stream from its cursor.

    A Snapchain stream is read in segments of about STAGE_CHUNK_EVENTS events: each segment is
    fetched, checked, filtered, parsed and staged with its cursor advance in one transaction,
    and ``on_staged`` gets its batch ids right after that commit, so appliers start on a backlog
    while the rest of it is still being read. A segment that fails (a malformed event, block
    counts still wrong) stores nothing of itself; segments before it stay committed with their
    cursor. The cursor row stays locked for each segment; between two segments another poll
    may take the shard over, and this one then stops."""
    result = PollResult(shard)
    with engine.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM farcaster_shard_cursors WHERE shard_index = :s"), {"s": shard}).scalar()
    if not exists:
        ensure_cursors(engine, client)
        result.initialized = True
    segment_pages = max_pages if shard == HUBBLE_STREAM else max(1, min(max_pages, STAGE_CHUNK_EVENTS // page_size))
    pages_left, expected = max_pages, None
    while pages_left > 0:
        pages = min(segment_pages, pages_left)
        with engine.begin() as conn:
            cursor = conn.execute(text("""
                SELECT next_event_id FROM farcaster_shard_cursors WHERE shard_index = :s FOR UPDATE SKIP LOCKED
            """), {"s": shard}).scalar()
            if expected is None:
                if cursor is None:
                    result.skipped = True  # another poll holds it (or the hub has no such shard any more)
                    return result
            elif cursor != expected:
                break  # another poll took the shard over between two segments: it carries on
            more = _poll_segment(conn, client, cache, shard, cursor, page_size, pages, max_pages, result)
        if result.staged_batch_ids and on_staged is not None:
            on_staged(result.staged_batch_ids[result.handed_over:])
            result.handed_over = len(result.staged_batch_ids)
        if not more:
            break
        pages_left -= more
        expected = result.cursor
    return result


def _hubble_gap(client: HubClient, cursor: int, first: dict) -> str | None:
    """Hubble ids are (ms since the Farcaster epoch) << 12: a jump of more than
    HUBBLE_QUIET_MS from the cursor to the next event is either a quiet stream or pruned
    events. The hub prunes oldest first, so it is pruning exactly when that next event is
    also the oldest the hub still has."""
    first_id = first.get("id")
    if not isinstance(first_id, int) or (first_id >> HUBBLE_SEQ_BITS) - (cursor >> HUBBLE_SEQ_BITS) <= HUBBLE_QUIET_MS:
        return None
    oldest = client.events(None, 0)["events"]
    if not oldest or oldest[0].get("id") != first_id:
        return None  # the hub still has older events: the stream was only quiet
    gap = (f"stream 0: cursor {cursor} but the hub's oldest retained event is {first_id} "
           f"({((first_id - cursor) >> HUBBLE_SEQ_BITS) / 1000:.0f} s later): events in between are gone (retention)")
    log.error("farcaster %s", gap)
    return gap


def _poll_segment(conn: Connection, client: HubClient, cache: TargetCache, shard: int, cursor: int, page_size: int,
                  pages: int, max_pages: int, result: PollResult) -> int:
    """Read, stage and advance the cursor for one segment in ``conn``'s transaction. Returns
    the pages read if the stream may have more after it, else 0."""
    where = f"shard {shard}"
    more = 0
    if shard == HUBBLE_STREAM:
        kept: list[Any] = []
        new_cursor = cursor
        for _ in range(pages):
            body = client.events(None, new_cursor)
            page, next_id = body["events"], body.get("nextPageEventId")
            if not page:
                break  # an empty page's nextPageEventId is from + 1: keep the cursor where it is
            if not isinstance(next_id, int) or next_id <= page[-1].get("id", next_id):
                raise HubDataError(f"/v1/events: invalid nextPageEventId {next_id!r}")
            if not kept and cursor and not result.gap:
                result.gap = _hubble_gap(client, cursor, page[0])
                if result.gap:
                    gaps.request(conn, result.gap)
            kept += page
            new_cursor = next_id
    else:
        for attempt in range(BLOCK_REFETCHES):
            events, ended = _fetch_snapchain(client, shard, cursor, page_size, pages)
            try:
                kept, blocks = _complete_blocks(events, ended, where)
                if not kept and not ended and pages < max_pages:
                    # One block longer than a segment: read it whole, within the poll's pages.
                    events, ended = _fetch_snapchain(client, shard, cursor, page_size, max_pages)
                    kept, blocks = _complete_blocks(events, ended, where)
                    pages = max_pages
                break
            except IncompleteBlock as exc:
                result.mismatches += 1
                log.warning("farcaster %s: %s; fetching again (attempt %d)", where, exc, attempt + 1)
        else:
            raise IncompleteBlock(f"{where}: block counts still wrong after {BLOCK_REFETCHES} fetches from {cursor}")
        result.blocks += blocks
        if kept:
            first_block = _block_of(kept[0])
            if first_block > cursor >> SEQ_BITS:
                result.gap = (f"{where}: cursor at block {cursor >> SEQ_BITS} but the hub's next block is "
                              f"{first_block}: events in between are gone (retention)")
                log.error("farcaster %s", result.gap)
                gaps.request(conn, result.gap)
            new_cursor = (_block_of(kept[-1]) + 1) << SEQ_BITS
            more = 0 if ended else pages
        else:
            new_cursor = cursor
    result.events += len(kept)
    relevant = relevant_events(kept, cache) if kept else []
    chunks = _parse_chunks(relevant, where)
    result.relevant += len(relevant)
    result.staged_batch_ids += _stage(conn, shard, chunks)
    counts = skipped_kinds.unknown_event_types(kept)
    for _, batch in chunks:
        counts.update(batch.skipped)
    skipped_kinds.record(conn, counts, where)
    conn.execute(text("""
        UPDATE farcaster_shard_cursors SET next_event_id = :c, updated_at = now(),
            last_block_number = COALESCE(:b, last_block_number),
            hub_head_event_id = GREATEST(COALESCE(hub_head_event_id, 0), :c)
        WHERE shard_index = :s
    """), {"c": new_cursor, "s": shard, "b": _block_of(kept[-1]) if kept and shard != HUBBLE_STREAM else None})
    if kept:
        record_mark(conn, shard, new_cursor, _block_timestamp(kept[-1] if shard == HUBBLE_STREAM else
                                                              _last_block_head(kept)))
    result.cursor = new_cursor
    return more


def _last_block_head(events: list[dict]) -> dict:
    last = _block_of(events[-1])
    return next(e for e in reversed(events) if _block_of(e) == last and e.get("type") == "HUB_EVENT_TYPE_BLOCK_CONFIRMED")


def _block_timestamp(event: dict) -> int:
    """Hub time (Farcaster seconds) of a BLOCK_CONFIRMED, or of a Hubble event (its id)."""
    body = event.get("blockConfirmedBody")
    if isinstance(body, dict) and isinstance(body.get("timestamp"), int):
        return body["timestamp"]
    return (event["id"] >> HUBBLE_SEQ_BITS) // 1000


def unapplied_batches(conn: Connection, older_than_seconds: float = 0) -> list[int]:
    return list(conn.execute(text("""
        SELECT id FROM farcaster_staged_batches
        WHERE applied_at IS NULL AND created_at < now() - make_interval(secs => :age) ORDER BY id LIMIT 10000
    """), {"age": older_than_seconds}).scalars())
