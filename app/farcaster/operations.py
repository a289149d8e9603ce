"""What operators and tasks do, as plain functions over (engine, hub client, cache, enqueue).

``Enqueue`` is how follow-up work leaves the process (Celery in tasks, a list in tests):
durable state is always committed first, so a lost message is only re-sent, never lost.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Protocol

import orjson
from sqlalchemy import Engine, text

from app.farcaster import backfill, gaps, processor, replay, targets
from app.farcaster.batch import Batch
from app.farcaster.hub_client import HubClient
from app.farcaster.target_cache import TargetCache
from app.farcaster.targets import TargetChanges
from app.platform import leases

log = logging.getLogger(__name__)

RESEND_EVERY = 600  # seconds between re-sends of one unapplied staged batch by the periodic recovery


class Enqueue(Protocol):
    def backfill(self, request_id: int, fid: int) -> None: ...
    def apply_staged(self, batch_id: int) -> None: ...
    def reconcile(self, fid: int) -> None: ...
    def discover(self, app_fid: int) -> None: ...
    def scan_app_users(self, app_fid: int, chunk: int) -> None: ...
    def replay(self) -> None: ...


@dataclass
class Indexer:
    engine: Engine
    cache: TargetCache
    enqueue: Enqueue
    client_factory: Callable[[], HubClient] = field(default=None)  # type: ignore[assignment]

    @property
    def client(self) -> HubClient:
        return self.client_factory()

    # --- after-commit effects -------------------------------------------------------------
    def publish(self, changes: TargetChanges, requests: list[tuple[int, int]]) -> None:
        """Mirror target changes into Redis and send backfill messages (after the commit)."""
        touched = sorted(changes.added | changes.new_roots)
        if touched:
            with self.engine.connect() as conn:
                rows = conn.execute(text("SELECT fid, is_root FROM farcaster_targets WHERE fid = ANY(:f)"),
                                    {"f": touched}).all()
            self.cache.add([r.fid for r in rows], roots=[r.fid for r in rows if r.is_root])
        live_removed = changes.removed - changes.added
        if live_removed:
            self.cache.remove(sorted(live_removed))
        self.send_backfills(requests)
        if changes.added:
            self.enqueue.replay()  # a replay was recorded with the change (replay.py)

    def send_backfills(self, requests: list[tuple[int, int]]) -> None:
        for request_id, fid in requests:
            self.enqueue.backfill(request_id, fid)
        backfill.mark_sent(self.engine, [r for r, _ in requests])

    # --- targets ----------------------------------------------------------------------------
    def add_target(self, fid: int, *, root: bool) -> dict:
        with self.engine.begin() as conn:
            changes = targets.add_manual(conn, fid, root=root)
            requests = backfill.request_backfills(conn, changes.to_backfill | {fid}, reason="manual")
            replay.request(conn, changes.added, since=None, reason="manual")
        self.publish(changes, requests)
        return {"fid": fid, "root": root, "targets_added": sorted(changes.added), "backfills": len(requests)}

    def remove_target(self, fid: int) -> dict:
        with self.engine.begin() as conn:
            changes = targets.remove_manual(conn, fid)
        self.publish(changes, [])
        return {"fid": fid, "targets_removed": sorted(changes.removed)}

    def add_client_app(self, app_fid: int) -> dict:
        with self.engine.begin() as conn:
            created = targets.add_client_app(conn, app_fid)
        self.cache.add([], apps=[app_fid])
        return {"client_app": app_fid, "created": created}

    def discover_app_users(self, app_fid: int, on_progress: Callable[[dict], None] | None = None,
                           chunk_fids: int | None = None) -> dict:
        """Find a client app's existing users: the hub has no index by requestFid, so every fid's
        signer events are read. This lists the hub's fids, stores them in slices (replacing an
        earlier scan's) and sends one ``scan_app_users`` per slice; recovery re-sends slices left
        undone. ``users_scanned_at`` is set when the last slice is done."""
        from app.farcaster.realtime import HUBBLE_STREAM, stream_shards
        from app.settings import get_settings

        size = chunk_fids or get_settings().farcaster_discovery_chunk_fids
        client = self.client
        fids: list[int] = []

        def collect(fid_pages) -> None:
            for page in fid_pages:
                fids.extend(f for f in page if isinstance(f, int) and not isinstance(f, bool) and f > 0)
                if on_progress:
                    on_progress({"fids_listed": len(fids)})

        shards = [s for s in stream_shards(client.info()) if s != HUBBLE_STREAM]
        if shards:
            for shard in shards:
                collect(client.paged("/v1/fids", "fids", shard_id=shard))
        else:
            scan_hubble_fids(client, collect)
        fids = sorted(set(fids))
        chunks = [fids[i:i + size] for i in range(0, len(fids), size)]
        with self.engine.begin() as conn:
            leases.fence(conn)
            conn.execute(text("DELETE FROM farcaster_app_scan_chunks WHERE app_fid = :a"), {"a": app_fid})
            if chunks:
                conn.execute(text("INSERT INTO farcaster_app_scan_chunks (app_fid, chunk, fids) "
                                  "VALUES (:a, :c, CAST(:f AS bigint[]))"),
                             [{"a": app_fid, "c": i, "f": c} for i, c in enumerate(chunks)])
            conn.execute(text("UPDATE farcaster_client_apps SET users_scanned_at = NULL WHERE fid = :a"), {"a": app_fid})
        self._send_scans(app_fid, list(range(len(chunks))))
        if not chunks:
            self._finish_app_scan(app_fid)
        return {"client_app": app_fid, "fids": len(fids), "chunks": len(chunks)}

    def _send_scans(self, app_fid: int, chunks: list[int]) -> None:
        for chunk in chunks:
            self.enqueue.scan_app_users(app_fid, chunk)
        if chunks:
            with self.engine.begin() as conn:
                conn.execute(text("UPDATE farcaster_app_scan_chunks SET sent_at = now() "
                                  "WHERE app_fid = :a AND chunk = ANY(:c)"), {"a": app_fid, "c": chunks})

    def scan_app_users(self, app_fid: int, chunk: int, on_progress: Callable[[dict], None] | None = None) -> dict:
        """Read one slice's signers - on-chain and gasless from /v1/signersByFid, or the on-chain
        signer events where the hub has no such endpoint; the app's users among them become
        roots (and are backfilled)."""
        from app.farcaster.messages import parse_onchain_event

        with self.engine.connect() as conn:
            row = conn.execute(text("SELECT fids, done_at FROM farcaster_app_scan_chunks "
                                    "WHERE app_fid = :a AND chunk = :c"), {"a": app_fid, "c": chunk}).first()
        if row is None or row.done_at is not None:
            return {"client_app": app_fid, "chunk": chunk, "skipped": "no such slice (replaced)" if row is None
                    else "already done"}
        client, users = self.client, []
        unified = True
        for scanned, fid in enumerate(row.fids, 1):
            signers = backfill.signers_of(client, fid) if unified else None
            if signers is None:
                unified = False
                signers = [parse_onchain_event(e, f"onChainEventsByFid?fid={fid}")
                           for events in client.paged("/v1/onChainEventsByFid", "events", fid=fid,
                                                      event_type="EVENT_TYPE_SIGNER") for e in events]
            if any(e.is_signer_add and e.request_fid == app_fid for e in signers):
                users.append(fid)
                batch = Batch()
                batch.onchain = signers
                with self.engine.begin() as conn:
                    result = processor.apply_batch(conn, batch, reason=f"app:{app_fid}")
                self.publish(result.targets, result.backfill_requests)
            if on_progress and scanned % 50 == 0:
                on_progress({"fids_scanned": scanned, "of": len(row.fids), "users": len(users)})
        with self.engine.begin() as conn:
            leases.fence(conn)
            conn.execute(text("UPDATE farcaster_app_scan_chunks SET done_at = now(), users = :u "
                              "WHERE app_fid = :a AND chunk = :c AND done_at IS NULL"),
                         {"a": app_fid, "c": chunk, "u": len(users)})
        self._finish_app_scan(app_fid)  # after our commit: of two last slices, the later sees both done
        return {"client_app": app_fid, "chunk": chunk, "fids_scanned": len(row.fids), "users": users}

    def _finish_app_scan(self, app_fid: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(text("""
                UPDATE farcaster_client_apps SET users_scanned_at = now()
                WHERE fid = :a AND users_scanned_at IS NULL
                  AND NOT EXISTS (SELECT 1 FROM farcaster_app_scan_chunks WHERE app_fid = :a AND done_at IS NULL)
            """), {"a": app_fid})

    def request_backfill(self, fid: int, reason: str = "manual") -> dict:
        with self.engine.begin() as conn:
            requests = backfill.request_backfills(conn, [fid], reason=reason)
        self.send_backfills(requests)
        return {"fid": fid, "enqueued": bool(requests)}

    # --- backfill ---------------------------------------------------------------------------
    def run_backfill(self, fid: int, request_id: int | None, on_page: Callable | None = None,
                     write_batch_rows: int = 5000) -> dict:
        if request_id is not None and backfill.claim(self.engine, request_id) is None:
            return {"fid": fid, "skipped": "request already finished"}
        try:
            stats = backfill.fetch_and_store(self.engine, self.client, fid, write_batch_rows=write_batch_rows,
                                             on_page=on_page,
                                             on_applied=lambda r: self.publish(r.targets, r.backfill_requests))
        except Exception as exc:
            log.warning("backfill of fid %s failed: %s", fid, exc)
            raise
        backfill.finish(self.engine, request_id, fid, stats)
        return {"fid": fid, **stats.as_dict()}

    def fail_backfill(self, request_id: int | None, fid: int, error: str) -> None:
        backfill.finish(self.engine, request_id, fid, backfill.BackfillStats(), error=error[:2000])

    # --- events -----------------------------------------------------------------------------
    def apply_staged(self, batch_id: int) -> dict:
        with self.engine.begin() as conn:
            row = conn.execute(text("""
                SELECT shard_index, first_event_id, event_count, applied_at,
                       CASE WHEN applied_at IS NULL THEN events::text END AS events
                FROM farcaster_staged_batches WHERE id = :i FOR UPDATE
            """), {"i": batch_id}).first()
            if row is None:
                raise LookupError(f"staged batch {batch_id} does not exist")
            if row.applied_at is not None:
                return {"batch": batch_id, "skipped": "already applied"}
            staged = orjson.loads(row.events)
            since = (row.shard_index, row.first_event_id)
            if isinstance(staged, dict):  # parsed and validated when it was staged
                batch = Batch.from_staged(staged)
            else:  # raw hub events (batches staged before the parsed form)
                batch = Batch()
                for event in staged:
                    batch.add_event(event, f"staged batch {batch_id} event {event.get('id')}")
            result = processor.apply_batch(conn, batch, reason="event", expect_new=True, replay_since=since)
            conn.execute(text("UPDATE farcaster_staged_batches SET applied_at = now() WHERE id = :i"), {"i": batch_id})
        self.publish(result.targets, result.backfill_requests)
        return {"batch": batch_id, "events": row.event_count, "messages": result.messages,
                "targets_added": sorted(result.targets.added), "targets_removed": sorted(result.targets.removed)}

    # --- reconciliation and gaps ------------------------------------------------------------
    def reconcile(self, fid: int, *, allow_deletes: bool = False) -> dict:
        from app.farcaster.reconcile import reconcile_fid
        from app.settings import get_settings

        settings = get_settings()
        return reconcile_fid(self.engine, self.client, fid, grace_seconds=settings.farcaster_reconcile_grace_seconds,
                             max_delete_ratio=settings.farcaster_reconcile_max_delete_ratio,
                             on_applied=lambda r: self.publish(r.targets, r.backfill_requests),
                             allow_deletes=allow_deletes).as_dict()

    def recover_gap(self) -> dict:
        """The pending gap recovery (gaps.py): discovery for every client app, then one
        reconciliation per target, whatever number of shards saw the gap."""
        claimed = gaps.claim(self.engine)
        if claimed is None:
            return {"skipped": "no pending gap"}
        recovery_id, reasons = claimed
        with self.engine.connect() as conn:
            apps = list(conn.execute(text("SELECT fid FROM farcaster_client_apps ORDER BY fid")).scalars())
            fids = list(conn.execute(text("SELECT fid FROM farcaster_targets ORDER BY fid")).scalars())
        for app_fid in apps:
            self.enqueue.discover(app_fid)
        for fid in fids:
            self.enqueue.reconcile(fid)
        gaps.finish(self.engine, recovery_id, len(apps), len(fids))
        log.warning("farcaster gap recovery %s (%s): discovery for %d client apps, %d targets reconciled",
                    recovery_id, "; ".join(reasons), len(apps), len(fids))
        return {"recovery": recovery_id, "gaps": reasons, "client_apps": len(apps), "targets": len(fids)}

    def run_replays(self) -> dict:
        """One pass over every pending replay (replay.py)."""
        def add_to_cache(fids: list[int]) -> None:
            with self.engine.connect() as conn:
                roots = list(conn.execute(text("SELECT fid FROM farcaster_targets WHERE fid = ANY(:f) AND is_root"),
                                          {"f": fids}).scalars())
            self.cache.add(fids, roots=roots)

        def apply(batch: Batch, since: tuple[int, int]) -> None:
            with self.engine.begin() as conn:
                result = processor.apply_batch(conn, batch, reason="replay", replay_since=since)
            self.publish(result.targets, result.backfill_requests)

        return replay.run_pending(self.engine, self.client, add_to_cache=add_to_cache, apply=apply).as_dict()

    # --- recovery ---------------------------------------------------------------------------
    def recover(self, stale_after_seconds: float) -> dict:
        """Re-send work whose message may be gone (Redis flushed or a producer died after its
        commit): staged batches not yet applied, backfill requests still open. Idempotent."""
        from app.farcaster.realtime import unapplied_batches

        self.cache.ensure()
        with self.engine.connect() as conn:
            batches = unapplied_batches(conn, stale_after_seconds)
            requests = (backfill.open_requests(conn) if stale_after_seconds <= 0
                        else backfill.stranded_requests(conn, stale_after_seconds))
            # Apps never listed re-run discovery; listed ones get their undone slices again.
            apps = list(conn.execute(text("""
                SELECT a.fid FROM farcaster_client_apps a
                WHERE a.users_scanned_at IS NULL AND a.added_at < now() - make_interval(secs => :age)
                  AND NOT EXISTS (SELECT 1 FROM farcaster_app_scan_chunks c WHERE c.app_fid = a.fid)
            """), {"age": stale_after_seconds}).scalars())
            slices = conn.execute(text("""
                SELECT app_fid, array_agg(chunk ORDER BY chunk) AS chunks FROM farcaster_app_scan_chunks
                WHERE done_at IS NULL AND COALESCE(sent_at, created_at) < now() - make_interval(secs => :age)
                GROUP BY app_fid ORDER BY app_fid
            """), {"age": stale_after_seconds}).all()
        for batch_id in batches:
            # While a backlog drains, re-send a batch at most once per RESEND_EVERY (a marker that
            # a Redis flush also clears, which is exactly when re-sending is needed).
            if stale_after_seconds <= 0 or self.cache.redis.set(f"farcaster:staged:resent:{batch_id}", 1, nx=True,
                                                                ex=RESEND_EVERY):
                self.enqueue.apply_staged(batch_id)
        self.send_backfills(requests)
        for app_fid in apps:
            self.enqueue.discover(app_fid)
        for app_fid, chunks in slices:
            self._send_scans(app_fid, list(chunks))
        with self.engine.begin() as conn:
            replay.reset_stranded(conn, stale_after_seconds)
            replays = conn.execute(text("SELECT count(*) FROM farcaster_replays WHERE state = 'pending'")).scalar_one()
            replay.prune_marks(conn)
            gap_waiting = conn.execute(text("""
                SELECT count(*) FROM farcaster_gap_recoveries
                WHERE state = 'pending' AND detected_at < now() - make_interval(secs => :age)
            """), {"age": stale_after_seconds}).scalar_one()
        if replays:
            self.enqueue.replay()
        if gap_waiting:  # its message was lost: run it here (it only sends work)
            self.recover_gap()
        return {"staged_batches": len(batches), "backfills": len(requests), "client_app_scans": len(apps),
                "client_app_slices": sum(len(c) for _, c in slices), "replays": replays, "gap_recoveries": gap_waiting}

    def rebuild_cache(self) -> dict:
        return self.cache.rebuild()


def scan_hubble_fids(client: HubClient, scan: Callable) -> None:
    """Hubble lists every fid with no shard parameter. (The simulator's Hubble mode still
    demands Snapchain's shard_id; then walk shard ids until the hub refuses one.)"""
    from app.farcaster.hub_client import HubRequestError

    try:
        first = next(client.paged("/v1/fids", "fids"))
    except HubRequestError:
        shard = 1
        while True:
            try:
                pages = list(client.paged("/v1/fids", "fids", shard_id=shard))
            except HubRequestError:
                return
            scan(pages)
            shard += 1
    else:
        scan([first])
        scan(p for i, p in enumerate(client.paged("/v1/fids", "fids")) if i > 0)
