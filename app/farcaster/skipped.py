"""Forward compatibility: hub data of a kind this indexer does not store is skipped and
counted, never a failure (a failure would stall a shard's cursor, or a backfill, on data the
protocol allows). Kinds are ``event:<HubEventType>`` (an event type this code does not know)
and ``message:<MessageType>`` (a message type it does not store, known or not: frame actions,
storage lends, Snapchain 0.14 channel messages, Solana verifications, anything newer). Counts
go to farcaster_skipped_kinds (metric ``switchyard_farcaster_skipped``, ``switchyard farcaster
skipped``), with one log line per kind and call.

Channel messages (CHANNEL_UPDATE/MEMBER/PIN/MODERATE, 0.14.1) are not indexed on purpose: they
are channel state, merged on shard 0 and fanned out to data shards, not an account's own
content; no per-fid endpoint lists them for backfill or reconciliation, so a copy could not be
kept exact. Channel follows are reactions to a channel URL and are stored as reactions."""
from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable

from sqlalchemy import Connection, text

log = logging.getLogger(__name__)

# Event types the indexer reads (or knows carry nothing to store: block markers, merge
# failures, channel-owner hints - a re-read trigger for channel state, which is not indexed).
KNOWN_EVENT_TYPES = frozenset({
    "HUB_EVENT_TYPE_BLOCK_CONFIRMED", "HUB_EVENT_TYPE_MERGE_MESSAGE", "HUB_EVENT_TYPE_PRUNE_MESSAGE",
    "HUB_EVENT_TYPE_REVOKE_MESSAGE", "HUB_EVENT_TYPE_MERGE_USERNAME_PROOF", "HUB_EVENT_TYPE_MERGE_ON_CHAIN_EVENT",
    "HUB_EVENT_TYPE_MERGE_FAILURE", "HUB_EVENT_TYPE_CHANNEL_OWNER_CHANGE_HINT",
})


def unknown_event_types(events: Iterable[dict]) -> Counter:
    return Counter(f"event:{e.get('type')}" for e in events if e.get("type") not in KNOWN_EVENT_TYPES)


def record(conn: Connection, counts: Counter, where: str) -> None:
    """Add ``counts`` (kind -> n) to the durable counters and log each kind once."""
    if not counts:
        return
    kinds = sorted(counts)
    conn.execute(text("""
        INSERT INTO farcaster_skipped_kinds (kind, count)
        SELECT k, n FROM unnest(CAST(:k AS text[]), CAST(:n AS bigint[])) AS u(k, n)
        ON CONFLICT (kind) DO UPDATE SET count = farcaster_skipped_kinds.count + EXCLUDED.count, last_seen_at = now()
    """), {"k": [k[:128] for k in kinds], "n": [counts[k] for k in kinds]})
    for kind in kinds:
        log.info("farcaster %s: skipped %d hub %s (not indexed)", where, counts[kind], kind)
