"""Farcaster indexer tasks: thin wrappers over app.farcaster.operations.

Queues: realtime (stream polls), events (apply staged batches, target changes), backfill
(one fid's history, client-app user scans, reconciliation), maintenance (recovery, cache
rebuild, reconciliation fan-out). Every task is idempotent: deliveries are at least once.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy.exc import OperationalError

from app.platform.celery_app import celery
from app.db import get_engine
from app.farcaster.hub_client import HubUnavailable
from app.farcaster.services import hub_client, indexer
from app.settings import get_settings


class InvalidArguments(ValueError):
    pass


def _fid(value: Any, name: str = "fid") -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidArguments(f"{name} must be a positive integer fid, got {value!r}")
    return value


def _id(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidArguments(f"{name} must be a positive integer, got {value!r}")
    return value


RETRYABLE = (HubUnavailable, OperationalError, ConnectionError)


@celery.task(name="farcaster.add_target", queue_name="events", bind=True)
def add_target(self: Any, fid: int, root: bool = False) -> dict:
    """Make a fid a target (a root when root=true: its follows become targets) and backfill it."""
    if not isinstance(root, bool):
        raise InvalidArguments(f"root must be true or false, got {root!r}")
    return indexer().add_target(_fid(fid), root=root)


@celery.task(name="farcaster.remove_target", queue_name="events", bind=True)
def remove_target(self: Any, fid: int) -> dict:
    """Drop the manual reason of a target; it and its follows go unless another reason holds."""
    return indexer().remove_target(_fid(fid))


@celery.task(name="farcaster.add_client_app", queue_name="events", bind=True)
def add_client_app(self: Any, app_fid: int, scan: bool = True) -> dict:
    """Register a client app: its users (signer adds it requested) become roots."""
    result = indexer().add_client_app(_fid(app_fid, "app_fid"))
    if scan:
        discover_app_users.apply_async(args=[app_fid])
    return result


@celery.task(name="farcaster.discover_app_users", queue_name="backfill", bind=True, lease_key="{app_fid}",
             autoretry_for=RETRYABLE, retry_backoff=5, retry_backoff_max=300, max_retries=5)
def discover_app_users(self: Any, app_fid: int) -> dict:
    """List the hub's fids and send one scan_app_users per slice of them (the app's existing users)."""
    return indexer().discover_app_users(_fid(app_fid, "app_fid"),
                                        on_progress=lambda info: self.report_progress(None, **info))


@celery.task(name="farcaster.scan_app_users", queue_name="backfill", bind=True, lease_key="{app_fid}:{chunk}",
             autoretry_for=RETRYABLE, retry_backoff=5, retry_backoff_max=300, max_retries=5)
def scan_app_users(self: Any, app_fid: int, chunk: int) -> dict:
    """Read one slice's signer events; this client app's users among them become roots."""
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 0:
        raise InvalidArguments(f"chunk must be a non-negative integer, got {chunk!r}")
    return indexer().scan_app_users(_fid(app_fid, "app_fid"), chunk,
                                    on_progress=lambda info: self.report_progress(None, **info))


@celery.task(name="farcaster.backfill_fid", queue_name="backfill", bind=True, lease_key="{request_id}:{fid}",
             autoretry_for=RETRYABLE, retry_backoff=5, retry_backoff_max=300, max_retries=5)
def backfill_fid(self: Any, fid: int, request_id: int | None = None) -> dict:
    """Page every message type and on-chain event kind of one fid to its end, in batched writes."""
    fid = _fid(fid)
    if request_id is not None:
        request_id = _id(request_id, "request_id")
    ix = indexer()
    self.report_progress(0, fid=fid, pages=0, messages=0)
    try:
        result = ix.run_backfill(fid, request_id, write_batch_rows=get_settings().farcaster_write_batch_rows,
                                 on_page=lambda s: self.report_progress(None, fid=fid, pages=s.pages,
                                                                        messages=s.messages))
    except RETRYABLE:
        if self.request.retries >= self.max_retries:
            ix.fail_backfill(request_id, fid, "hub or database unavailable after retries")
        raise
    except Exception as exc:
        ix.fail_backfill(request_id, fid, f"{type(exc).__name__}: {exc}")
        raise
    self.report_progress(100, **{k: v for k, v in result.items() if k != "fid"}, fid=fid)
    return result


@celery.task(name="farcaster.request_backfill", queue_name="events", bind=True)
def request_backfill(self: Any, fid: int) -> dict:
    """Enqueue a backfill of fid unless one is already waiting or running."""
    return indexer().request_backfill(_fid(fid))


@celery.task(name="farcaster.poll_shards", queue_name="realtime", bind=True, ignore_result=True, periodic=True, leased=False)
def poll_shards(self: Any) -> list[int]:
    """Beat, every REALTIME_POLL_INTERVAL_SECONDS: one poll per data shard of /v1/info."""
    from app.farcaster.realtime import stream_shards

    shards = stream_shards(hub_client().info())
    expires = max(5.0, get_settings().realtime_poll_interval_seconds * 5)
    for shard in shards:
        poll_shard.apply_async(args=[shard], expires=expires)
    return shards


@celery.task(name="farcaster.poll_shard", queue_name="realtime", bind=True, periodic=True, leased=False)
def poll_shard(self: Any, shard_index: int) -> dict:
    """Read one shard's events from its cursor; stage the relevant ones with the new cursor."""
    from app.farcaster import realtime

    if isinstance(shard_index, bool) or not isinstance(shard_index, int) or shard_index < 0:
        raise InvalidArguments(f"shard_index must be a non-negative integer, got {shard_index!r}")
    settings = get_settings()
    ix = indexer()

    def _send_staged(ids: list[int]) -> None:
        for batch_id in ids:
            apply_staged.apply_async(args=[batch_id])

    # Each segment's batches are sent as soon as they are committed: appliers start on a
    # backlog while the poll is still reading it.
    result = realtime.poll_shard(ix.engine, hub_client(), ix.cache, shard_index, page_size=settings.hub_page_size,
                                 max_pages=settings.realtime_max_pages_per_poll,
                                 on_staged=_send_staged)
    if result.gap:  # recorded with the poll; other shards' gaps of the next polls join it
        recover_gap.apply_async(countdown=max(5.0, settings.realtime_poll_interval_seconds * 3))
    return result.as_dict()


@celery.task(name="farcaster.apply_staged", queue_name="events", bind=True, lease_key="{batch_id}",
             autoretry_for=(OperationalError,), retry_backoff=1, max_retries=10)
def apply_staged(self: Any, batch_id: int) -> dict:
    """Apply one staged batch of relevant events in one transaction (no-op if already applied)."""
    return indexer().apply_staged(_id(batch_id, "batch_id"))


@celery.task(name="farcaster.replay_new_targets", queue_name="backfill", bind=True,
             autoretry_for=RETRYABLE, retry_backoff=5, retry_backoff_max=300, max_retries=5)
def replay_new_targets(self: Any) -> dict:
    """Apply the stream's events about fids that just became targets (every pending replay in one pass)."""
    return indexer().run_replays()


@celery.task(name="farcaster.recover", queue_name="maintenance", bind=True, periodic=True, leased=False)
def recover(self: Any, stale_after_seconds: float | None = None) -> dict:
    """Rebuild the target cache if Redis lost it; re-send unapplied staged batches and open backfills."""
    age = get_settings().farcaster_stale_after_seconds if stale_after_seconds is None else float(stale_after_seconds)
    return indexer().recover(age)


@celery.task(name="farcaster.rebuild_cache", queue_name="maintenance", bind=True)
def rebuild_cache(self: Any) -> dict:
    """Rebuild the Redis target sets from PostgreSQL."""
    return indexer().rebuild_cache()


@celery.task(name="farcaster.reconcile_fid", queue_name="backfill", bind=True, lease_key="{fid}",
             autoretry_for=RETRYABLE, retry_backoff=5, retry_backoff_max=300, max_retries=5)
def reconcile_fid(self: Any, fid: int, allow_deletes: bool = False) -> dict:
    """Compare hub and database for one fid and repair both directions (see reconcile.py);
    allow_deletes=true overrides the delete guard (an operator checked the hub)."""
    if not isinstance(allow_deletes, bool):
        raise InvalidArguments(f"allow_deletes must be true or false, got {allow_deletes!r}")
    return indexer().reconcile(_fid(fid), allow_deletes=allow_deletes)


@celery.task(name="farcaster.recover_gap", queue_name="maintenance", bind=True)
def recover_gap(self: Any) -> dict:
    """After a retention gap: client-app discovery again, then every target reconciled once."""
    return indexer().recover_gap()


@celery.task(name="farcaster.reconcile_all", queue_name="maintenance", bind=True)
def reconcile_all(self: Any, reason: str = "scheduled") -> dict:
    """Enqueue a reconciliation of every target (daily, and when a cursor fell out of retention)."""
    from sqlalchemy import text

    with get_engine().connect() as conn:
        fids = list(conn.execute(text("SELECT fid FROM farcaster_targets ORDER BY fid")).scalars())
    for fid in fids:
        reconcile_fid.apply_async(args=[fid])
    return {"reason": reason, "targets": len(fids)}
