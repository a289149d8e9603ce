"""Farcaster indexer tasks: thin wrappers over app.farcaster.operations.

Queues: realtime (stream polls), events (apply staged batches, target changes), backfill
(one fid's history, client-app user scans, reconciliation), maintenance (recovery, cache
rebuild, reconciliation fan-out). Every task is idempotent: deliveries are at least once.
"""
from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, Strict
from sqlalchemy.exc import OperationalError

from app.db import get_engine
from app.farcaster.hub_client import HubUnavailable
from app.farcaster.services import hub_client, indexer
from app.platform.arguments import NonNegativeInt, PositiveId, PositiveInt
from app.platform.celery_app import celery
from app.platform.retry import RetryPolicy, retry_or_fail
from app.settings import get_settings

# The hub client retried each request already: these retry the whole task, later.
HUB_RETRY = RetryPolicy(retry_on=(HubUnavailable, OperationalError, ConnectionError),
                        max_attempts=6, backoff_initial=5, backoff_max=300)
DATABASE_RETRY = RetryPolicy(retry_on=(OperationalError,), max_attempts=11, backoff_initial=1, backoff_max=60)


@celery.task(name="farcaster.add_target", queue_name="events", bind=True)
def add_target(self: Any, fid: PositiveId, root: bool = False) -> dict:
    """Make a fid a target (a root when root=true: its follows become targets) and backfill it."""
    return indexer().add_target(fid, root=root)


@celery.task(name="farcaster.remove_target", queue_name="events", bind=True)
def remove_target(self: Any, fid: PositiveId) -> dict:
    """Drop the manual reason of a target; it and its follows go unless another reason holds."""
    return indexer().remove_target(fid)


@celery.task(name="farcaster.add_client_app", queue_name="events", bind=True)
def add_client_app(self: Any, app_fid: PositiveId, scan: bool = True) -> dict:
    """Register a client app: its users (signer adds it requested) become roots."""
    result = indexer().add_client_app(app_fid)
    if scan:
        discover_app_users.apply_async(args=[app_fid])
    return result


@celery.task(name="farcaster.discover_app_users", queue_name="backfill", bind=True,
             retry_policy=HUB_RETRY, lease_key="{app_fid}")
def discover_app_users(self: Any, app_fid: PositiveId) -> dict:
    """List the hub's fids and send one scan_app_users per slice of them (the app's existing users)."""
    return indexer().discover_app_users(app_fid,
                                        on_progress=lambda info: self.report_progress(None, **info))


@celery.task(name="farcaster.scan_app_users", queue_name="backfill", bind=True,
             retry_policy=HUB_RETRY, lease_key="{app_fid}:{chunk}")
def scan_app_users(self: Any, app_fid: PositiveId, chunk: NonNegativeInt) -> dict:
    """Read one slice's signer events; this client app's users among them become roots."""
    return indexer().scan_app_users(app_fid, chunk,
                                    on_progress=lambda info: self.report_progress(None, **info))


@celery.task(name="farcaster.backfill_fid", queue_name="backfill", bind=True, lease_key="{request_id}:{fid}")
def backfill_fid(self: Any, fid: PositiveId, request_id: PositiveInt | None = None) -> dict:
    """Page every message type and on-chain event kind of one fid to its end, in batched writes."""
    ix = indexer()
    self.report_progress(0, fid=fid, pages=0, messages=0)
    try:
        result = ix.run_backfill(fid, request_id, write_batch_rows=get_settings().farcaster_write_batch_rows,
                                 on_page=lambda s: self.report_progress(None, fid=fid, pages=s.pages,
                                                                        messages=s.messages))
    except Exception as exc:  # a retry keeps the request open; the last failure closes it with the reason
        retry_or_fail(self, exc, HUB_RETRY, on_final=lambda reason: ix.fail_backfill(request_id, fid, reason))
    self.report_progress(100, **{k: v for k, v in result.items() if k != "fid"}, fid=fid)
    return result


@celery.task(name="farcaster.request_backfill", queue_name="events", bind=True)
def request_backfill(self: Any, fid: PositiveId) -> dict:
    """Enqueue a backfill of fid unless one is already waiting or running."""
    return indexer().request_backfill(fid)


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
def poll_shard(self: Any, shard_index: NonNegativeInt) -> dict:
    """Read one shard's events from its cursor; stage the relevant ones with the new cursor."""
    from app.farcaster import realtime

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


@celery.task(name="farcaster.apply_staged", queue_name="events", bind=True, retry_policy=DATABASE_RETRY, lease_key="{batch_id}")
def apply_staged(self: Any, batch_id: PositiveInt) -> dict:
    """Apply one staged batch of relevant events in one transaction (no-op if already applied)."""
    return indexer().apply_staged(batch_id)


@celery.task(name="farcaster.replay_new_targets", queue_name="backfill", bind=True, retry_policy=HUB_RETRY)
def replay_new_targets(self: Any) -> dict:
    """Apply the stream's events about fids that just became targets (every pending replay in one pass)."""
    return indexer().run_replays()


@celery.task(name="farcaster.recover", queue_name="maintenance", bind=True, periodic=True, leased=False)
def recover(self: Any, stale_after_seconds: Annotated[float, Strict(False), Field(ge=0)] | None = None) -> dict:
    """Rebuild the target cache if Redis lost it; re-send unapplied staged batches and open backfills."""
    age = get_settings().farcaster_stale_after_seconds if stale_after_seconds is None else stale_after_seconds
    return indexer().recover(age)


@celery.task(name="farcaster.rebuild_cache", queue_name="maintenance", bind=True)
def rebuild_cache(self: Any) -> dict:
    """Rebuild the Redis target sets from PostgreSQL."""
    return indexer().rebuild_cache()


@celery.task(name="farcaster.reconcile_fid", queue_name="backfill", bind=True,
             retry_policy=HUB_RETRY, lease_key="{fid}")
def reconcile_fid(self: Any, fid: PositiveId, allow_deletes: bool = False) -> dict:
    """Compare hub and database for one fid and repair both directions (see reconcile.py);
    allow_deletes=true overrides the delete guard (an operator checked the hub)."""
    return indexer().reconcile(fid, allow_deletes=allow_deletes)


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
