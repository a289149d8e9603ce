"""The Farcaster indexer's business metrics: shard cursors, staged and applied events, backfills,
targets (PostgreSQL) and the poller's lag behind the hub (the hub's own /v1/info and events).

``switchyard_farcaster_events_indexed_total`` is kept incrementally: staged batches are folded
into per-shard sums once they are older than any poll transaction can be, so a scrape stays cheap
as history grows; a new process folds the history in bounded chunks and leaves the counter out
until it is through.
"""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from app.farcaster.realtime import SEQ_BITS  # Snapchain event ids are height << SEQ_BITS | seq
from app.platform.metrics import Families, MetricsPart, Timed

TARGET_KINDS = ("root", "manual", "client_app", "followed_by_root")


class _StagedTotals:
    """Per-shard sums of staged events folded in once no poll can still commit a batch below them.

    A batch id comes from a sequence when the poll inserts it, inside a transaction that lasts at
    most the realtime pool's hard time limit. Once a batch created ``settle`` seconds ago (more
    than twice that limit) is seen, every batch with a smaller id has committed, so the id range
    up to it can be summed once and never read again (later pruning of old batches changes nothing)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.watermark = 0
        self.settled: Counter[int] = Counter()
        self.caught_up = False

    def params(self) -> dict[str, int]:
        return {"staged_w": self.watermark}

    def update(self, data: dict) -> dict[int, int] | None:
        """Fold this scrape's rows; return total staged events per shard, or None while catching up."""
        max_id = data.get("staged_max_id") or 0
        if max_id < self.watermark:  # the table was emptied (restored, truncated): start over
            self.reset()
            return None
        mark = data["staged_mark"]
        recent: Counter[int] = Counter()
        for row in data.get("staged_sums") or ():
            self.settled[row["shard"]] += row["settled"]
            recent[row["shard"]] += row["recent"]
        self.watermark = mark["w"]
        self.caught_up = not mark["more"]
        if mark["more"]:
            return None
        return {shard: self.settled[shard] + recent[shard] for shard in set(self.settled) | set(recent)}


class _HubHeads:
    """Each Snapchain shard's newest block and block timestamps, cached; left alone after a failure."""

    def __init__(self, client_factory: Callable[[], Any], cache_seconds: float, retry_after_failure: float) -> None:
        self._factory = client_factory
        self._client: Any = None
        self.cache_seconds = cache_seconds
        self.retry_after_failure = retry_after_failure
        self._info: tuple[float, dict[int, int]] | None = None  # (fetched at, {shard: max height})
        self._timestamps: dict[tuple[int, int], int | None] = {}  # (shard, from block) -> first block's timestamp
        self._failed_at: float | None = None
        self._last_error: str | None = None

    def _get_client(self) -> Any:
        if self._client is None:
            self._client = self._factory()
        return self._client

    def heads(self) -> dict[int, int]:
        now = time.monotonic()
        if self._failed_at is not None and now - self._failed_at < self.retry_after_failure:
            raise RuntimeError(f"hub unavailable (last error {self._last_error}); next try in "
                               f"{self.retry_after_failure - (now - self._failed_at):.0f} s")
        if self._info is None or now - self._info[0] >= self.cache_seconds:
            info = self._call(lambda: self._get_client().info())
            heights = {}
            for shard in info.get("shardInfos") or ():
                if isinstance(shard, dict) and isinstance(shard.get("shardId"), int) and shard["shardId"] > 0 \
                        and isinstance(shard.get("maxHeight"), int):
                    heights[shard["shardId"]] = shard["maxHeight"]
            self._info = (now, heights)
        return self._info[1]

    def block_timestamp(self, shard: int, block: int) -> int | None:
        """Timestamp of the first block at or after ``block`` the hub still has (None: none or no timestamp)."""
        key = (shard, block)
        if key not in self._timestamps:
            body = self._call(lambda: self._get_client().events(shard, block << SEQ_BITS, 1))
            events = body.get("events") or []
            ts = None
            if events and isinstance(events[0], dict):
                ts = (events[0].get("blockConfirmedBody") or {}).get("timestamp")
            if len(self._timestamps) > 64:
                self._timestamps.clear()
            self._timestamps[key] = ts if isinstance(ts, int) else None
        return self._timestamps[key]

    def _call(self, fn: Callable[[], Any]) -> Any:
        try:
            result = fn()
        except Exception as exc:
            self._failed_at = time.monotonic()
            self._last_error = f"{type(exc).__name__}: {exc}"[:300]
            raise
        self._failed_at = None
        return result


def _default_hub_client() -> Any:
    from app.farcaster.hub_client import HubClient
    from app.settings import get_settings

    s = get_settings()
    # One attempt with a short timeout: a scrape must not wait out the indexer's retries.
    return HubClient(s.hub_urls, api_key=s.hub_api_key, api_key_header=s.hub_api_key_header, timeout=1.0,
                     attempts=1, limiter=None)


class FarcasterMetrics(MetricsPart):
    METRICS = (
    ("switchyard_farcaster_shard_cursor_event_id", "gauge", ("shard",),
     "Next hub event id the poller reads on this shard (farcaster_shard_cursors.next_event_id). A position, "
     "not a count: Snapchain ids are block_height << 14 | seq (deriv() / 16384 is blocks per second)."),
    ("switchyard_farcaster_shard_last_block", "gauge", ("shard",),
     "Last Snapchain block the poller has read whole on this shard; deriv() is blocks read per second."),
    ("switchyard_farcaster_shard_polled_timestamp_seconds", "gauge", ("shard",),
     "Unix time of the last poll of this shard that committed (with or without new events); "
     "time() minus it shows a stuck poller."),
    ("switchyard_farcaster_events_indexed", "counter", ("shard",),
     "Relevant hub events read from this shard's stream and applied to the Farcaster tables "
     "(sum of event_count of applied staged batches). Events the relevance filter dropped are not counted."),
    ("switchyard_farcaster_events_pending", "gauge", ("shard",),
     "Relevant events staged by the poller and not yet applied by the processor."),
    ("switchyard_farcaster_events_pending_age_seconds", "gauge", ("shard",),
     "Age of the oldest staged batch not yet applied (0 when none): how far the processor is behind the poller."),
    ("switchyard_farcaster_backfills_waiting", "gauge", (),
     "Backfill requests waiting for a worker (farcaster_backfill_requests state pending); "
     "switchyard_queue_waiting{queue=\"backfill\"} is the broker's view."),
    ("switchyard_farcaster_backfills_running", "gauge", (),
     "Backfill requests a worker has claimed and not finished (state running)."),
    ("switchyard_farcaster_targets", "gauge", (), "Fids the indexer holds (farcaster_targets rows)."),
    ("switchyard_farcaster_targets_by_kind", "gauge", ("kind",),
     "Targets per reason: root, manual, client_app (a client app's user), followed_by_root. "
     "A target can have several, so these do not add up to switchyard_farcaster_targets."),
    ("switchyard_farcaster_reconcile_refused", "gauge", (),
     "Fids whose last reconciliation the delete guard refused (too many rows gone from the hub); "
     "`switchyard farcaster reconcile-refusals` lists them, `reconcile FID --allow-deletes` forces one."),
    ("switchyard_farcaster_skipped", "counter", ("kind",),
     "Hub data of a kind the indexer does not store (an event type or message type it does not know, "
     "or one it chooses not to index), skipped and counted per kind (farcaster_skipped_kinds)."),
    ("switchyard_farcaster_gap_recoveries", "counter", (),
     "Retention gaps recovered (client-app discovery again, every target reconciled once)."),
    ("switchyard_farcaster_hub_head_block", "gauge", ("shard",),
     "The hub's newest block on this shard (/v1/info shardInfos maxHeight)."),
    ("switchyard_farcaster_lag_blocks", "gauge", ("shard",),
     "Blocks the hub has on this shard that the poller has not read yet (hub head block - last block read)."),
    ("switchyard_farcaster_lag_seconds", "gauge", ("shard",),
     "Poller lag in block time: timestamp of the hub's newest block minus timestamp of the oldest block "
     "not read yet on this shard (0 when caught up). Both from the hub, so clock skew does not matter."),
    )
    CTES = (
        """staged_head AS (
    SELECT id, created_at FROM farcaster_staged_batches WHERE id > :staged_w ORDER BY id LIMIT :staged_chunk
)""",
        """staged_mark AS (
    SELECT COALESCE(max(id) FILTER (WHERE created_at < now() - make_interval(secs => :staged_settle)), :staged_w) AS w,
           count(*) >= :staged_chunk AS more
    FROM staged_head
)""",
        """staged_sums AS (
    SELECT b.shard_index, sum(b.event_count) FILTER (WHERE b.id <= m.w) AS settled,
           sum(b.event_count) FILTER (WHERE b.id > m.w) AS recent
    FROM farcaster_staged_batches b CROSS JOIN staged_mark m
    WHERE b.id > :staged_w
      AND b.id <= (SELECT CASE WHEN more THEN w ELSE 9223372036854775807 END FROM staged_mark)
    GROUP BY b.shard_index
)""",
    )
    FIELDS = (
        """'cursors', (SELECT json_agg(json_build_object(
        'shard', shard_index, 'next_event_id', next_event_id, 'last_block', last_block_number,
        'polled', extract(epoch FROM updated_at)))
      FROM farcaster_shard_cursors)""",
        "'staged_max_id', (SELECT max(id) FROM farcaster_staged_batches)",
        "'staged_mark', (SELECT json_build_object('w', w, 'more', more) FROM staged_mark)",
        """'staged_sums', (SELECT json_agg(json_build_object('shard', shard_index, 'settled', COALESCE(settled, 0),
                                                     'recent', COALESCE(recent, 0))) FROM staged_sums)""",
        """'pending', (SELECT json_agg(json_build_object('shard', shard_index, 'events', events, 'age', age)) FROM (
        SELECT shard_index, sum(event_count) AS events, extract(epoch FROM now() - min(created_at)) AS age
        FROM farcaster_staged_batches WHERE applied_at IS NULL GROUP BY shard_index) p)""",
        """'backfills', (SELECT json_object_agg(state, n) FROM (
        SELECT state, count(*) AS n FROM farcaster_backfill_requests
        WHERE state IN ('pending', 'running') GROUP BY state) b)""",
        """'targets', (SELECT json_build_object(
        'all', count(*), 'root', count(*) FILTER (WHERE is_root), 'manual', count(*) FILTER (WHERE manual),
        'client_app', count(*) FILTER (WHERE client_app_fid IS NOT NULL),
        'followed_by_root', count(*) FILTER (WHERE followed_by_root))
      FROM farcaster_targets)""",
        "'refused', (SELECT count(*) FROM farcaster_reconcile_refusals)",
        "'skipped', (SELECT json_object_agg(kind, count) FROM farcaster_skipped_kinds)",
        "'gap_recoveries', (SELECT count(*) FROM farcaster_gap_recoveries)",
    )

    def __init__(self, settings: Any, queues: tuple[str, ...], *,
                 hub_client_factory: Callable[[], Any] | None = _default_hub_client,
                 hub_cache_seconds: float = 5.0, hub_retry_after_failure: float = 30.0,
                 staged_settle_seconds: float | None = None, staged_chunk: int = 100_000) -> None:
        super().__init__(settings, queues)
        if staged_settle_seconds is None:
            # Well beyond any poll transaction (each one ends within the realtime pool's hard limit).
            staged_settle_seconds = max(600.0, 3.0 * settings.pool("realtime").time_limit)
        self.staged_settle_seconds = staged_settle_seconds
        self.staged_chunk = self._staged_chunk_max = staged_chunk
        self.hub = (_HubHeads(hub_client_factory, hub_cache_seconds, hub_retry_after_failure)
                    if hub_client_factory is not None else None)
        self._staged = _StagedTotals()

    @property
    def caught_up(self) -> bool:
        return self._staged.caught_up

    def params(self) -> dict[str, Any]:
        return {**self._staged.params(), "staged_chunk": self.staged_chunk, "staged_settle": self.staged_settle_seconds}

    def after_read(self, failed: bool, catching_up: bool) -> None:
        if not failed:
            self.staged_chunk = min(self._staged_chunk_max, self.staged_chunk * 2)
        elif catching_up:
            # Folding history may be what hit the statement timeout (a cold cache, a slow disk):
            # smaller chunks next time, so catching up can never fail forever.
            self.staged_chunk = max(1, min(1000, self._staged_chunk_max // 2), self.staged_chunk // 2)

    def emit(self, families: Families, data: dict[str, Any]) -> None:
        for c in data.get("cursors") or ():
            families.add("switchyard_farcaster_shard_cursor_event_id", (c["shard"],), c["next_event_id"])
            if c["last_block"] is not None:
                families.add("switchyard_farcaster_shard_last_block", (c["shard"],), c["last_block"])
            families.add("switchyard_farcaster_shard_polled_timestamp_seconds", (c["shard"],), c["polled"])
        pending = {p["shard"]: p for p in data.get("pending") or ()}
        shards = {c["shard"] for c in data.get("cursors") or ()} | set(pending)
        staged = self._staged.update(data)
        for shard in sorted(shards | set(staged or ())):
            p = pending.get(shard, {"events": 0, "age": 0})
            families.add("switchyard_farcaster_events_pending", (shard,), p["events"])
            families.add("switchyard_farcaster_events_pending_age_seconds", (shard,), max(0.0, p["age"]))
            if staged is not None:
                families.add("switchyard_farcaster_events_indexed", (shard,), max(0, staged.get(shard, 0) - p["events"]))
        backfills = data.get("backfills") or {}
        families.add("switchyard_farcaster_backfills_waiting", (), backfills.get("pending", 0))
        families.add("switchyard_farcaster_backfills_running", (), backfills.get("running", 0))
        targets = data["targets"]
        families.add("switchyard_farcaster_targets", (), targets["all"])
        for kind in TARGET_KINDS:
            families.add("switchyard_farcaster_targets_by_kind", (kind,), targets[kind])
        families.add("switchyard_farcaster_reconcile_refused", (), data.get("refused") or 0)
        families.add("switchyard_farcaster_gap_recoveries", (), data.get("gap_recoveries") or 0)
        for kind, n in sorted((data.get("skipped") or {}).items()):
            families.add("switchyard_farcaster_skipped", (kind,), n)

    def read_other_sources(self, families: Families, data: dict[str, Any] | None, timed: Timed) -> None:
        cursors = (data or {}).get("cursors") or []
        if data is not None and self.hub is not None and any(c["shard"] > 0 for c in cursors):
            timed(families, "hub", lambda: self._hub_metrics(families, cursors))

    def _hub_metrics(self, families: Families, cursors: list[dict]) -> None:
        assert self.hub is not None
        heads = self.hub.heads()
        for c in cursors:
            shard, head = c["shard"], heads.get(c["shard"])
            if shard <= 0 or head is None:
                continue  # Hubble's single stream (shard 0) has no head to compare with
            next_block = c["next_event_id"] >> SEQ_BITS  # the first block not read yet
            lag = max(0, head - next_block + 1)
            families.add("switchyard_farcaster_hub_head_block", (shard,), head)
            families.add("switchyard_farcaster_lag_blocks", (shard,), lag)
            if lag == 0:
                families.add("switchyard_farcaster_lag_seconds", (shard,), 0)
                continue
            newest = self.hub.block_timestamp(shard, head)
            oldest_unread = self.hub.block_timestamp(shard, next_block)
            if newest is not None and oldest_unread is not None:
                families.add("switchyard_farcaster_lag_seconds", (shard,), max(0, newest - oldest_unread))
