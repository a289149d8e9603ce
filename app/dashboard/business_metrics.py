"""Business metrics for Prometheus, served next to Flower's own at /metrics.

Flower's /metrics handler renders prometheus_client's default REGISTRY; ``install()`` adds one
custom collector to it. Every scrape reads current values:

- PostgreSQL: one statement (one round trip, one snapshot) returning a JSON document, on an
  autocommit connection with a short ``statement_timeout``, so a slow or locked database makes a
  scrape fail fast instead of hanging Flower (whose IOLoop renders /metrics synchronously);
- Redis: the broker's list lengths per queue and priority step, pipelined in one round trip;
- the hub (only when shard cursors exist): ``/v1/info`` for each shard's newest block, plus one
  single-event page per lagging shard for block timestamps; cached for a few seconds and left
  alone for a while after a failure.

A source that fails sets ``switchyard_metrics_scrape_error{source}`` to 1 and its metrics are left
out of that scrape (never reported as zero); the scrape itself always succeeds.

Two counters are kept incrementally so a scrape stays cheap as history grows:
``switchyard_farcaster_events_indexed_total`` (staged batches are folded into per-shard sums once
they are older than any poll transaction can be) and the catalogue per-supplier counters
(finished syncs are folded once). A new process folds the history in bounded chunks; until it is
through, those counters are left out rather than reported low.
"""
from __future__ import annotations

import logging
import threading
import time
import weakref
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from app.analysis.models import AnalysisStatus
from app.farcaster.realtime import SEQ_BITS  # Snapchain event ids are height << SEQ_BITS | seq
from app.platform.jobs.models import JobState

log = logging.getLogger(__name__)


TARGET_KINDS = ("root", "manual", "client_app", "followed_by_root")

# name, type, labels, help. describe() yields these, so registering never touches a data source.
METRICS: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("switchyard_metrics_scrape_error", "gauge", ("source",),
     "1 if reading this source (postgresql, redis, hub) failed in this scrape: its metrics are left out."),
    ("switchyard_metrics_scrape_duration_seconds", "gauge", ("source",),
     "Time this scrape spent reading the source."),
    # --- farcaster, from PostgreSQL ---
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
    # --- farcaster, from the hub ---
    ("switchyard_farcaster_hub_head_block", "gauge", ("shard",),
     "The hub's newest block on this shard (/v1/info shardInfos maxHeight)."),
    ("switchyard_farcaster_lag_blocks", "gauge", ("shard",),
     "Blocks the hub has on this shard that the poller has not read yet (hub head block - last block read)."),
    ("switchyard_farcaster_lag_seconds", "gauge", ("shard",),
     "Poller lag in block time: timestamp of the hub's newest block minus timestamp of the oldest block "
     "not read yet on this shard (0 when caught up). Both from the hub, so clock skew does not matter."),
    # --- catalogue ---
    ("switchyard_catalogue_families", "gauge", ("supplier", "active"),
     "Product families stored per supplier (catalogue_products), active or deactivated."),
    ("switchyard_catalogue_families_synced", "counter", ("supplier",),
     "Families stored by sync_family across all syncs (catalogue_sync_families state done)."),
    ("switchyard_catalogue_families_failed", "counter", ("supplier",),
     "Families whose sync failed after its retries (state failed)."),
    ("switchyard_catalogue_families_unchanged", "counter", ("supplier",),
     "Families a supplier sync found unchanged (same feed hash) and did not enqueue."),
    ("switchyard_catalogue_families_deactivated", "counter", ("supplier",),
     "Families a supplier sync marked inactive because they left the feed."),
    ("switchyard_catalogue_families_pending", "gauge", ("supplier",),
     "Families enqueued by syncs and not finished yet (queued or retrying)."),
    ("switchyard_catalogue_images_uploaded", "counter", ("supplier",),
     "Images downloaded and stored by upload_image (catalogue_sync_images outcome uploaded)."),
    ("switchyard_catalogue_images_skipped", "counter", ("supplier",),
     "Image uploads skipped as already stored (same URL, same bytes or the object exists; outcome skipped)."),
    ("switchyard_catalogue_images_failed", "counter", ("supplier",),
     "Image uploads that failed after their retries (outcome failed)."),
    ("switchyard_catalogue_images_pending", "gauge", ("supplier",),
     "Image uploads enqueued and not finished yet (queued or retrying)."),
    ("switchyard_catalogue_syncs_running", "gauge", ("supplier",),
     "Supplier syncs not finished (state running or fanned_out)."),
    ("switchyard_catalogue_last_sync_timestamp_seconds", "gauge", ("supplier",),
     "Unix time the supplier's last sync ended (done, aborted or failed; catalogue_suppliers.last_sync_at)."),
    # --- analysis and the platform ---
    ("switchyard_analysis_jobs", "gauge", ("state",),
     "Analysis requests by status (analysis_jobs): queued, running, retrying, completed, failed."),
    ("switchyard_jobs", "gauge", ("queue", "state"),
     "Job records by queue and Celery state (the jobs table; finished ones are pruned after the retention)."),
    ("switchyard_queue_waiting", "gauge", ("queue", "priority"),
     "Messages waiting in the Redis broker per queue and priority step (0 highest; kombu list queue[:step])."),
)
_SPEC = {name: (kind, labels, help_) for name, kind, labels, help_ in METRICS}


class _Families:
    """Metric families of one scrape, created on first use so absent data means an absent family."""

    def __init__(self) -> None:
        self._families: dict[str, Metric] = {}

    def add(self, name: str, labels: tuple | list, value: float) -> None:
        family = self._families.get(name)
        if family is None:
            kind, label_names, help_ = _SPEC[name]
            cls = CounterMetricFamily if kind == "counter" else GaugeMetricFamily
            family = self._families[name] = cls(name, help_, labels=list(label_names))
        family.add_metric([str(v) for v in labels], float(value))  # type: ignore[attr-defined]

    def __iter__(self) -> Iterator[Metric]:
        return iter(self._families.values())


# --- PostgreSQL: one statement -------------------------------------------------------------

_QUERY = """
WITH staged_head AS (
    SELECT id, created_at FROM farcaster_staged_batches WHERE id > :staged_w ORDER BY id LIMIT :staged_chunk
), staged_mark AS (
    SELECT COALESCE(max(id) FILTER (WHERE created_at < now() - make_interval(secs => :staged_settle)), :staged_w) AS w,
           count(*) >= :staged_chunk AS more
    FROM staged_head
), staged_sums AS (
    SELECT b.shard_index, sum(b.event_count) FILTER (WHERE b.id <= m.w) AS settled,
           sum(b.event_count) FILTER (WHERE b.id > m.w) AS recent
    FROM farcaster_staged_batches b CROSS JOIN staged_mark m
    WHERE b.id > :staged_w
      AND b.id <= (SELECT CASE WHEN more THEN w ELSE 9223372036854775807 END FROM staged_mark)
    GROUP BY b.shard_index
), unfolded_syncs AS (
    SELECT s.id, s.supplier_code, s.state,
           s.state IN ('done', 'aborted', 'failed') AND s.finished_at < now() - make_interval(secs => :sync_settle)
               AS settled,
           COALESCE(s.families_unchanged, 0) AS unchanged, COALESCE(s.families_deactivated, 0) AS deactivated
    FROM catalogue_syncs s
    WHERE s.id <> ALL(CAST(:folded_syncs AS bigint[]))
    ORDER BY s.id LIMIT :sync_chunk
)
SELECT json_build_object(
  'cursors', (SELECT json_agg(json_build_object(
        'shard', shard_index, 'next_event_id', next_event_id, 'last_block', last_block_number,
        'polled', extract(epoch FROM updated_at)))
      FROM farcaster_shard_cursors),
  'staged_max_id', (SELECT max(id) FROM farcaster_staged_batches),
  'staged_mark', (SELECT json_build_object('w', w, 'more', more) FROM staged_mark),
  'staged_sums', (SELECT json_agg(json_build_object('shard', shard_index, 'settled', COALESCE(settled, 0),
                                                     'recent', COALESCE(recent, 0))) FROM staged_sums),
  'pending', (SELECT json_agg(json_build_object('shard', shard_index, 'events', events, 'age', age)) FROM (
        SELECT shard_index, sum(event_count) AS events, extract(epoch FROM now() - min(created_at)) AS age
        FROM farcaster_staged_batches WHERE applied_at IS NULL GROUP BY shard_index) p),
  'backfills', (SELECT json_object_agg(state, n) FROM (
        SELECT state, count(*) AS n FROM farcaster_backfill_requests
        WHERE state IN ('pending', 'running') GROUP BY state) b),
  'targets', (SELECT json_build_object(
        'all', count(*), 'root', count(*) FILTER (WHERE is_root), 'manual', count(*) FILTER (WHERE manual),
        'client_app', count(*) FILTER (WHERE client_app_fid IS NOT NULL),
        'followed_by_root', count(*) FILTER (WHERE followed_by_root))
      FROM farcaster_targets),
  'refused', (SELECT count(*) FROM farcaster_reconcile_refusals),
  'skipped', (SELECT json_object_agg(kind, count) FROM farcaster_skipped_kinds),
  'gap_recoveries', (SELECT count(*) FROM farcaster_gap_recoveries),
  'suppliers', (SELECT json_agg(json_build_object('code', code, 'last_sync', extract(epoch FROM last_sync_at)))
      FROM catalogue_suppliers),
  'products', (SELECT json_agg(json_build_object('supplier', s.code, 'active', p.active, 'n', p.n)) FROM (
        SELECT supplier_id, active, count(*) AS n FROM catalogue_products GROUP BY supplier_id, active) p
      JOIN catalogue_suppliers s ON s.id = p.supplier_id),
  'syncs', (SELECT json_agg(json_build_object(
        'id', u.id, 'supplier', u.supplier_code, 'state', u.state, 'settled', u.settled,
        'unchanged', u.unchanged, 'deactivated', u.deactivated,
        'families', (SELECT json_object_agg(state, n) FROM (
            SELECT state, count(*) AS n FROM catalogue_sync_families WHERE sync_id = u.id GROUP BY state) f),
        'images', (SELECT json_object_agg(outcome, n) FROM (
            SELECT outcome, count(*) AS n FROM catalogue_sync_images WHERE sync_id = u.id GROUP BY outcome) i)))
      FROM unfolded_syncs u),
  'open_syncs', (SELECT json_agg(json_build_object(
        'supplier', supplier_code, 'running', running, 'families_pending', families, 'images_pending', images)) FROM (
        SELECT s.supplier_code, count(*) AS running,
               sum((SELECT count(*) FROM catalogue_sync_families f
                    WHERE f.sync_id = s.id AND f.state IN ('queued', 'retrying'))) AS families,
               sum((SELECT count(*) FROM catalogue_sync_images i
                    WHERE i.sync_id = s.id AND i.outcome IN ('queued', 'retrying'))) AS images
        FROM catalogue_syncs s WHERE s.state NOT IN ('done', 'aborted', 'failed') GROUP BY s.supplier_code) o),
  'analysis', (SELECT json_object_agg(status, n) FROM (
        SELECT status, count(*) AS n FROM analysis_jobs GROUP BY status) a),
  'jobs', (SELECT json_agg(json_build_object('queue', queue, 'state', state, 'n', n)) FROM (
        SELECT queue, state, count(*) AS n FROM jobs GROUP BY queue, state) j)
)
"""


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


class _SyncTotals:
    """Per-supplier catalogue counters: finished syncs are counted once and remembered."""

    FAMILY_KEYS = ("done", "failed")
    IMAGE_KEYS = ("uploaded", "skipped", "failed")

    def __init__(self) -> None:
        self.folded_ids: set[int] = set()
        self.folded: dict[str, Counter[str]] = defaultdict(Counter)
        self.caught_up = False

    def params(self) -> dict[str, Any]:
        return {"folded_syncs": sorted(self.folded_ids)}

    def update(self, rows: list[dict], chunk: int) -> dict[str, Counter[str]] | None:
        """Fold this scrape's settled syncs; return counters per supplier, or None while catching up."""
        live: dict[str, Counter[str]] = defaultdict(Counter)
        for row in rows:
            families, images = row["families"] or {}, row["images"] or {}
            counts = Counter({"unchanged": row["unchanged"], "deactivated": row["deactivated"],
                              **{f"families_{k}": families.get(k, 0) for k in self.FAMILY_KEYS},
                              **{f"images_{k}": images.get(k, 0) for k in self.IMAGE_KEYS}})
            if row["settled"]:
                self.folded[row["supplier"]].update(counts)
                self.folded_ids.add(row["id"])
                continue
            live[row["supplier"]].update(counts)
        self.caught_up = len(rows) < chunk
        if not self.caught_up:
            return None
        totals: dict[str, Counter[str]] = defaultdict(Counter)
        for source in (self.folded, live):
            for supplier, counts in source.items():
                totals[supplier].update(counts)
        return totals


# --- the hub ---------------------------------------------------------------------------------

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


# --- the collector ---------------------------------------------------------------------------

class BusinessMetricsCollector:
    """A prometheus_client collector: reads PostgreSQL, Redis and the hub on every collect()."""

    def __init__(self, *, database_url: str | None = None, redis_url: str | None = None,
                 queues: tuple[str, ...] | None = None, statement_timeout_ms: int = 2000,
                 connect_timeout_s: int = 2, redis_timeout_s: float = 1.0,
                 hub_client_factory: Callable[[], Any] | None = _default_hub_client,
                 hub_cache_seconds: float = 5.0, hub_retry_after_failure: float = 30.0,
                 staged_settle_seconds: float | None = None, staged_chunk: int = 100_000,
                 sync_settle_seconds: float = 600, sync_chunk: int = 500) -> None:
        from app.settings import get_settings

        settings = get_settings()
        self.database_url = database_url or settings.database_url
        self.redis_url = redis_url or settings.redis_url
        if queues is None:
            from workers.pools import QUEUES

            queues = QUEUES
        self.queues = tuple(queues)
        self.statement_timeout_ms = statement_timeout_ms
        self.connect_timeout_s = connect_timeout_s
        self.redis_timeout_s = redis_timeout_s
        if staged_settle_seconds is None:
            # Well beyond any poll transaction (each one ends within the realtime pool's hard limit).
            staged_settle_seconds = max(600.0, 3.0 * settings.pool("realtime").time_limit)
        self.staged_settle_seconds = staged_settle_seconds
        self.staged_chunk = self._staged_chunk_max = staged_chunk
        self.sync_settle_seconds = sync_settle_seconds
        self.sync_chunk = self._sync_chunk_max = sync_chunk
        self._hub = (_HubHeads(hub_client_factory, hub_cache_seconds, hub_retry_after_failure)
                     if hub_client_factory is not None else None)
        self._staged = _StagedTotals()
        self._syncs = _SyncTotals()
        self._engine: Any = None
        self._redis: Any = None
        self._lock = threading.Lock()
        self._failing: set[str] = set()

    # prometheus_client calls describe() at registration (instead of collect()): names only.
    def describe(self) -> Iterator[Metric]:
        for name, kind, labels, help_ in METRICS:
            cls = CounterMetricFamily if kind == "counter" else GaugeMetricFamily
            yield cls(name, help_, labels=list(labels))

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            families = _Families()
            data = self._timed(families, "postgresql", self._read_postgres)
            if data is not None:
                self._postgres_metrics(families, data)
                cursors = data.get("cursors") or []
                if self._hub is not None and any(c["shard"] > 0 for c in cursors):
                    self._timed(families, "hub", lambda: self._hub_metrics(families, cursors))
            waiting = self._timed(families, "redis", self._read_redis)
            if waiting is not None:
                for queue, steps in waiting.items():
                    for step, n in steps.items():
                        families.add("switchyard_queue_waiting", (queue, step), n)
        yield from families

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
        if self._redis is not None:
            self._redis.close()

    # --- sources --------------------------------------------------------------------------
    def _timed(self, families: _Families, source: str, read: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        try:
            result = read()
        except Exception as exc:  # noqa: BLE001 - a failing source must never fail the scrape
            reason = getattr(exc, "orig", None) or exc  # SQLAlchemy's message repeats the whole statement
            (log.warning if source not in self._failing else log.debug)(
                "business metrics: reading %s failed: %s: %s", source, type(reason).__name__,
                (str(reason).strip().splitlines() or [""])[0][:300])
            self._failing.add(source)
            families.add("switchyard_metrics_scrape_error", (source,), 1)
            result = None
        else:
            if source in self._failing:
                log.info("business metrics: reading %s works again", source)
                self._failing.discard(source)
            families.add("switchyard_metrics_scrape_error", (source,), 0)
        families.add("switchyard_metrics_scrape_duration_seconds", (source,), time.perf_counter() - started)
        return result

    def _get_engine(self) -> Any:
        if self._engine is None:
            from sqlalchemy import create_engine

            self._engine = create_engine(
                self.database_url, pool_size=1, max_overflow=1, pool_pre_ping=False, pool_recycle=600,
                isolation_level="AUTOCOMMIT",  # one statement, one round trip, no BEGIN/COMMIT
                connect_args={"connect_timeout": self.connect_timeout_s,
                              "options": f"-c statement_timeout={int(self.statement_timeout_ms)}",
                              "application_name": "switchyard-metrics",
                              "prepare_threshold": None})  # plans made for each scrape's own watermarks
        return self._engine

    def _read_postgres(self) -> dict:
        from sqlalchemy import text

        params = {**self._staged.params(), **self._syncs.params(), "staged_chunk": self.staged_chunk,
                  "staged_settle": self.staged_settle_seconds, "sync_settle": self.sync_settle_seconds,
                  "sync_chunk": self.sync_chunk}
        try:
            with self._get_engine().connect() as conn:
                data = conn.execute(text(_QUERY), params).scalar_one()
        except Exception:
            if not (self._staged.caught_up and self._syncs.caught_up):
                # Folding history may be what hit the statement timeout (a cold cache, a slow disk):
                # smaller chunks next time, so catching up can never fail forever.
                self.staged_chunk = max(1, min(1000, self._staged_chunk_max // 2), self.staged_chunk // 2)
                self.sync_chunk = max(1, min(10, self._sync_chunk_max // 2), self.sync_chunk // 2)
            raise
        data["sync_chunk"] = self.sync_chunk  # what this query used
        self.staged_chunk = min(self._staged_chunk_max, self.staged_chunk * 2)
        self.sync_chunk = min(self._sync_chunk_max, self.sync_chunk * 2)
        return data

    def _read_redis(self) -> dict[str, dict[int, int]]:
        from app.platform.celeryconfig import PRIORITY_STEPS
        from app.platform.queues import priority_list_key

        if self._redis is None:
            import redis

            self._redis = redis.Redis.from_url(self.redis_url, socket_connect_timeout=self.redis_timeout_s,
                                               socket_timeout=self.redis_timeout_s)
        pipe = self._redis.pipeline(transaction=False)
        for queue in self.queues:
            for step in PRIORITY_STEPS:
                pipe.llen(priority_list_key(queue, step))
        lengths = iter(pipe.execute())
        return {queue: {step: next(lengths) for step in PRIORITY_STEPS} for queue in self.queues}

    # --- turning data into metrics --------------------------------------------------------
    def _postgres_metrics(self, f: _Families, data: dict) -> None:
        for c in data.get("cursors") or ():
            f.add("switchyard_farcaster_shard_cursor_event_id", (c["shard"],), c["next_event_id"])
            if c["last_block"] is not None:
                f.add("switchyard_farcaster_shard_last_block", (c["shard"],), c["last_block"])
            f.add("switchyard_farcaster_shard_polled_timestamp_seconds", (c["shard"],), c["polled"])
        pending = {p["shard"]: p for p in data.get("pending") or ()}
        shards = {c["shard"] for c in data.get("cursors") or ()} | set(pending)
        staged = self._staged.update(data)
        for shard in sorted(shards | set(staged or ())):
            p = pending.get(shard, {"events": 0, "age": 0})
            f.add("switchyard_farcaster_events_pending", (shard,), p["events"])
            f.add("switchyard_farcaster_events_pending_age_seconds", (shard,), max(0.0, p["age"]))
            if staged is not None:
                f.add("switchyard_farcaster_events_indexed", (shard,), max(0, staged.get(shard, 0) - p["events"]))
        backfills = data.get("backfills") or {}
        f.add("switchyard_farcaster_backfills_waiting", (), backfills.get("pending", 0))
        f.add("switchyard_farcaster_backfills_running", (), backfills.get("running", 0))
        targets = data["targets"]
        f.add("switchyard_farcaster_targets", (), targets["all"])
        for kind in TARGET_KINDS:
            f.add("switchyard_farcaster_targets_by_kind", (kind,), targets[kind])
        f.add("switchyard_farcaster_reconcile_refused", (), data.get("refused") or 0)
        f.add("switchyard_farcaster_gap_recoveries", (), data.get("gap_recoveries") or 0)
        for kind, n in sorted((data.get("skipped") or {}).items()):
            f.add("switchyard_farcaster_skipped", (kind,), n)

        self._catalogue_metrics(f, data)

        analysis = data.get("analysis") or {}
        for state in dict.fromkeys((*AnalysisStatus.ALL, *analysis)):
            f.add("switchyard_analysis_jobs", (state,), analysis.get(state, 0))
        jobs = {(j["queue"] or "none", j["state"]): j["n"] for j in data.get("jobs") or ()}
        keys = dict.fromkeys([(q, s) for q in self.queues for s in JobState.ALL] + sorted(jobs))
        for key in keys:
            f.add("switchyard_jobs", key, jobs.get(key, 0))

    def _catalogue_metrics(self, f: _Families, data: dict) -> None:
        suppliers = data.get("suppliers") or []
        for p in data.get("products") or ():
            f.add("switchyard_catalogue_families", (p["supplier"], str(p["active"]).lower()), p["n"])
        totals = self._syncs.update(data.get("syncs") or [], data["sync_chunk"])
        gauges = {o["supplier"]: o for o in data.get("open_syncs") or ()}
        codes = sorted({s["code"] for s in suppliers} | set(totals or ()) | set(gauges))
        for code in codes:
            g = gauges.get(code, {"families_pending": 0, "images_pending": 0, "running": 0})
            f.add("switchyard_catalogue_families_pending", (code,), g["families_pending"])
            f.add("switchyard_catalogue_images_pending", (code,), g["images_pending"])
            f.add("switchyard_catalogue_syncs_running", (code,), g["running"])
            if totals is not None:
                t = totals.get(code, Counter())
                f.add("switchyard_catalogue_families_synced", (code,), t["families_done"])
                f.add("switchyard_catalogue_families_failed", (code,), t["families_failed"])
                f.add("switchyard_catalogue_families_unchanged", (code,), t["unchanged"])
                f.add("switchyard_catalogue_families_deactivated", (code,), t["deactivated"])
                f.add("switchyard_catalogue_images_uploaded", (code,), t["images_uploaded"])
                f.add("switchyard_catalogue_images_skipped", (code,), t["images_skipped"])
                f.add("switchyard_catalogue_images_failed", (code,), t["images_failed"])
        for s in suppliers:
            if s["last_sync"] is not None:
                f.add("switchyard_catalogue_last_sync_timestamp_seconds", (s["code"],), s["last_sync"])

    def _hub_metrics(self, f: _Families, cursors: list[dict]) -> None:
        assert self._hub is not None
        heads = self._hub.heads()
        for c in cursors:
            shard, head = c["shard"], heads.get(c["shard"])
            if shard <= 0 or head is None:
                continue  # Hubble's single stream (shard 0) has no head to compare with
            next_block = c["next_event_id"] >> SEQ_BITS  # the first block not read yet
            lag = max(0, head - next_block + 1)
            f.add("switchyard_farcaster_hub_head_block", (shard,), head)
            f.add("switchyard_farcaster_lag_blocks", (shard,), lag)
            if lag == 0:
                f.add("switchyard_farcaster_lag_seconds", (shard,), 0)
                continue
            newest = self._hub.block_timestamp(shard, head)
            oldest_unread = self._hub.block_timestamp(shard, next_block)
            if newest is not None and oldest_unread is not None:
                f.add("switchyard_farcaster_lag_seconds", (shard,), max(0, newest - oldest_unread))


_installed: "weakref.WeakKeyDictionary[CollectorRegistry, BusinessMetricsCollector]" = weakref.WeakKeyDictionary()
_install_lock = threading.Lock()


def install(registry: CollectorRegistry = REGISTRY, **options: Any) -> BusinessMetricsCollector:
    """Register the business metrics collector in ``registry`` (Flower's: the default REGISTRY).

    Idempotent: a second call returns the collector already registered there (``options`` are
    then ignored). Registration reads nothing; each scrape does."""
    with _install_lock:
        collector = _installed.get(registry)
        if collector is None:
            collector = BusinessMetricsCollector(**options)
            registry.register(collector)
            _installed[registry] = collector
        return collector


def uninstall(registry: CollectorRegistry = REGISTRY) -> None:
    """Unregister the collector from ``registry`` (tests, a reconfigured dashboard)."""
    with _install_lock:
        collector = _installed.pop(registry, None)
        if collector is not None:
            registry.unregister(collector)
            collector.close()
