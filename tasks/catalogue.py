"""Catalogue sync tasks: supplier-sync -> product-family -> image-upload (Promidata).

Thin wrappers: validate arguments, call app.catalogue, report progress, retry. Each child is
enqueued from inside its parent, so the jobs table links them by parent_id. Counters per sync
live in catalogue_syncs (+ per-family / per-image rows), not in chords.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Annotated, Any

from app.catalogue import pipeline, status
from app.catalogue.errors import (FeedError, FeedTooLarge, InvalidArguments, MalformedCategories,
                                  MalformedFamily, MassDisableAborted)
from app.catalogue.family_sync import pending_claims
from app.catalogue.feed_client import default_client
from app.catalogue.import_index import FAMILY_SKU_RE, HASH_RE
from app.catalogue.runs import claim_scheduled_slot
from app.catalogue.schedule import latest_slot, parse_cron, scheduled_run_id
from app.catalogue.storage import default_store
from app.catalogue.supplier_sync import active_supplier_codes, ensure_suppliers
from app.catalogue import sync_runs
from app.catalogue.sync_runs import new_run_id
from app.db import get_engine
from app.platform.arguments import HttpURL, PositiveInt, must_match
from app.platform.celery_app import celery
from app.platform.retry import RetryPolicy, retry_or_fail
from app.settings import get_settings

log = logging.getLogger(__name__)
SupplierCode = Annotated[str, must_match(r"^A\d+$", "an A-number like 'A23'")]
FamilySku = Annotated[str, must_match(FAMILY_SKU_RE, "a family Sku like 'A23-100804'")]
FeedHash = Annotated[str, must_match(HASH_RE, "40 hex characters")]
SyncTrigger = Annotated[str, must_match(r"^(manual|schedule)$", "'manual' or 'schedule'")]

# The same answer on every attempt: a malformed family stays malformed until the feed changes.
# (Image errors say it themselves: a non-image is permanent, a truncated one is retried.)
PERMANENT = (InvalidArguments, MalformedFamily, MalformedCategories, FeedTooLarge, MassDisableAborted)


def _policy(max_retries: int, delay: float, retry_on: tuple[type[BaseException], ...] = (Exception,)) -> RetryPolicy:
    """Retries with a first delay of about ``delay`` seconds, doubling (jittered) up to ``max_retries`` times."""
    return RetryPolicy(retry_on=retry_on, never_retry=PERMANENT, max_attempts=max_retries + 1,
                       backoff_initial=delay, backoff_max=delay * 2 ** max_retries)


QUEUE_UPLOADS_RETRY = _policy(5, 1.0)


@celery.task(name="catalogue.sync_all", queue_name="supplier-sync", bind=True)
def sync_all(self: Any, import_url: HttpURL | None = None, run_id: str | None = None,
             trigger: SyncTrigger = "manual") -> dict[str, Any]:
    """Read the feed index once for the run, refresh categories and suppliers, enqueue one supplier sync each.

    ``trigger="schedule"`` (beat): the run is named after its schedule slot and skipped when that
    slot has started already or an earlier run is still going."""
    settings = get_settings()
    url = import_url or settings.catalogue_import_url
    limits = pipeline.Limits.from_settings(settings)
    engine = get_engine()
    if trigger == "schedule":
        cron = parse_cron(settings.catalogue_sync_schedule or "* * * * *")
        run_id = scheduled_run_id(latest_slot(cron))
        skipped = claim_scheduled_slot(engine, run_id, url,
                                       stale_after=timedelta(seconds=settings.catalogue_run_stale_after_seconds))
        if skipped:
            log.info("scheduled catalogue sync skipped: %s", skipped)
            self.report_progress(100, step="skipped", run_id=run_id, reason=skipped)
            return {"run_id": run_id, "skipped": skipped}
    run_id = run_id or new_run_id()
    self.report_progress(0, step="parse", run_id=run_id)
    fed = pipeline.run_index(engine, default_client(), run_id, url, limits, trigger=trigger)
    index = fed.index
    with engine.begin() as conn:
        ensure_suppliers(conn, index.supplier_codes())
        codes = sorted(active_supplier_codes(conn) & set(index.supplier_codes()), key=lambda c: int(c[1:]))
    self.report_progress(50, step="enqueue", run_id=run_id, suppliers=len(codes))
    for code in codes:
        sync_supplier.apply_async(args=[code], kwargs={"run_id": run_id, "import_url": import_url})
    self.report_progress(100, step="done", run_id=run_id, suppliers=len(codes),
                         malformed_lines_unattributed=index.malformed_unattributed)
    return {"run_id": run_id, "suppliers": codes, "categories": fed.categories,
            "families_in_feed": len(index.entries), "malformed_lines": index.malformed,
            "malformed_lines_unattributed": index.malformed_unattributed, "duplicate_lines": index.duplicates,
            "malformed_by_supplier": dict(index.malformed_by_supplier),
            "duplicates_by_supplier": dict(index.duplicates_by_supplier)}


@celery.task(name="catalogue.sync_supplier", queue_name="supplier-sync", bind=True)
def sync_supplier(self: Any, supplier_code: SupplierCode, run_id: str | None = None,
                  import_url: HttpURL | None = None) -> dict[str, Any]:
    """Read the run's feed index, compare one supplier's family hashes, enqueue new/changed families,
    deactivate gone ones."""
    code = supplier_code
    settings = get_settings()
    url = import_url or settings.catalogue_import_url
    limits = pipeline.Limits.from_settings(settings)
    engine = get_engine()
    run_id = run_id or new_run_id()
    with engine.begin() as conn:
        sync_id = sync_runs.start_sync(conn, supplier_code=code, mode="queued", job_id=self.request.id,
                                       run_id=run_id)
    self.report_progress(5, step="parse", sync_id=sync_id)
    try:
        index = pipeline.run_index(engine, default_client(), run_id, url, limits).index
    except FeedError as exc:
        policy = _policy(settings.catalogue_supplier_max_retries, settings.catalogue_supplier_retry_delay_seconds,
                         retry_on=(FeedError,))
        retry_or_fail(self, exc, policy, on_final=lambda reason: pipeline.fail_sync(engine, sync_id, reason))
    lines = {"malformed_lines": index.malformed_by_supplier[code], "duplicate_lines": index.duplicates_by_supplier[code]}
    self.report_progress(30, step="compare", sync_id=sync_id, families_in_feed=len(index.for_supplier(code)), **lines)
    try:
        plan = pipeline.plan_supplier(engine, sync_id, index, code, limits)
    except MassDisableAborted:
        raise  # already recorded as "aborted" on the sync and the supplier; the job fails with the message
    except Exception as exc:
        pipeline.fail_sync(engine, sync_id, f"{type(exc).__name__}: {exc}")  # not left "running"
        raise
    self.report_progress(60, step="enqueue", sync_id=sync_id, to_process=len(plan.to_process), **lines)
    with celery.producer_or_acquire() as producer:  # one broker connection for the whole fan-out
        for entry in plan.to_process:
            sync_family.apply_async(args=[sync_id, entry.sku, entry.url, entry.feed_hash], producer=producer)
        for url in plan.retry_uploads:
            upload_image.apply_async(args=[sync_id, url], producer=producer)
    # The last child to finish writes the final counters here too; a sync already done reports them now.
    summary = status.sync_summary(engine, sync_id) or {}
    counters = {k: v for k, v in summary.items() if k.startswith(("families_", "images_"))}
    self.report_progress(100, step="done" if summary.get("state") == "done" else "fanned_out", sync_id=sync_id,
                         **counters, **lines)
    return {"sync_id": sync_id, "supplier_code": code, "families_in_feed": plan.in_feed,
            "families_queued": len(plan.to_process), "families_unchanged": plan.unchanged,
            "families_deactivated": plan.deactivated, "images_retried": len(plan.retry_uploads), **lines}


@celery.task(name="catalogue.sync_family", queue_name="product-family", bind=True, lease_key="{sync_id}:{sku}")
def sync_family(self: Any, sync_id: PositiveInt, sku: FamilySku, json_url: HttpURL,
                feed_hash: FeedHash) -> dict[str, Any]:
    """Fetch one family JSON, upsert product/variants/prices/image links in one transaction, enqueue new images."""
    settings = get_settings()
    engine = get_engine()
    try:
        stored, uploads = pipeline.process_family(engine, default_client(), sync_id, sku, json_url, feed_hash,
                                                  pipeline.Limits.from_settings(settings))
    except Exception as exc:  # noqa: BLE001 - transient failures are retried; every failure is recorded
        policy = _policy(settings.catalogue_family_max_retries, settings.catalogue_family_retry_delay_seconds)
        retry_or_fail(self, exc, policy, on_failure=lambda error, final: pipeline.record_family_failure(
            engine, sync_id, sku, error, final=final))
    if len(uploads) > settings.catalogue_fan_out_above:
        # The product-family pool (3 processes) is the pipeline's narrowest stage: hand many
        # per-image publishes to the image pool instead of doing them here.
        queue_uploads.apply_async(args=[sync_id, sku])
    else:
        with celery.producer_or_acquire() as producer:
            for url in uploads:
                upload_image.apply_async(args=[sync_id, url], producer=producer)
    return {"sync_id": sync_id, "sku": sku, "variants": stored.variants, "price_tiers": stored.price_tiers,
            "images": stored.images, "uploads_queued": len(uploads)}


@celery.task(name="catalogue.queue_uploads", queue_name="image-upload", bind=True,
             retry_policy=QUEUE_UPLOADS_RETRY, lease_key="{sync_id}:{family_sku}")
def queue_uploads(self: Any, sync_id: PositiveInt, family_sku: FamilySku) -> dict[str, Any]:
    """Enqueue one upload per image that this family claimed in this sync and that is still pending."""
    with get_engine().connect() as conn:
        urls = pending_claims(conn, sync_id, family_sku)
    with celery.producer_or_acquire() as producer:
        for url in urls:
            upload_image.apply_async(args=[sync_id, url], producer=producer)
    return {"sync_id": sync_id, "family": family_sku, "uploads_queued": len(urls)}


@celery.task(name="catalogue.upload_image", queue_name="image-upload", bind=True, lease_key="{sync_id}:{image_url}")
def upload_image(self: Any, sync_id: PositiveInt, image_url: HttpURL) -> dict[str, Any]:
    """Download one image, dedupe by URL and content hash, store it with a conditional put."""
    settings = get_settings()
    engine = get_engine()
    try:
        result = pipeline.process_image(engine, default_client(), default_store(), sync_id, image_url,
                                        pipeline.Limits.from_settings(settings))
    except Exception as exc:  # noqa: BLE001 - transient failures are retried; every failure is recorded
        policy = _policy(settings.catalogue_image_max_retries, settings.catalogue_image_retry_delay_seconds)
        retry_or_fail(self, exc, policy, on_failure=lambda error, final: pipeline.record_image_failure(
            engine, sync_id, image_url, error, final=final))
    return {"sync_id": sync_id, "image_id": result.image_id, "outcome": result.outcome,
            "storage_key": result.storage_key, "reason": result.reason}

