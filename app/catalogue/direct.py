"""Direct mode: the same steps as the queued pipeline, run inline one after another.

For debugging a single supplier and as the baseline of bench/catalogue_sync.py. A family or
image that fails is recorded as failed (the HTTP client has already retried it) and the run goes on.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Engine

from app.catalogue import pipeline, status, sync_runs
from app.catalogue.errors import CatalogueError, CorruptImage, MassDisableAborted
from app.catalogue.feed_client import FeedClient
from app.catalogue.storage import ObjectStore
from app.catalogue.supplier_sync import active_supplier_codes, ensure_suppliers

log = logging.getLogger(__name__)


def run_direct(engine: Engine, client: FeedClient, store: ObjectStore, *, import_url: str,
               limits: pipeline.Limits, supplier_codes: list[str] | None = None,
               on_progress: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    run_id = f"direct-{uuid.uuid4().hex[:12]}"
    index = pipeline.fetch_index(client, import_url, limits)
    pipeline.sync_categories(engine, client, index, limits)
    with engine.begin() as conn:
        ensure_suppliers(conn, index.supplier_codes())
        codes = supplier_codes or sorted(active_supplier_codes(conn) & set(index.supplier_codes()))
    results = []
    for code in codes:
        with engine.begin() as conn:
            sync_id = sync_runs.start_sync(conn, supplier_code=code, mode="direct", job_id=None, run_id=run_id)
        try:
            plan = pipeline.plan_supplier(engine, sync_id, index, code, limits)
        except MassDisableAborted as exc:
            log.error("%s", exc)
            results.append(status.sync_summary(engine, sync_id))
            continue
        for url in plan.retry_uploads:
            _upload(engine, client, store, sync_id, url, limits)
        for n, entry in enumerate(plan.to_process, 1):
            try:
                _, uploads = pipeline.process_family(engine, client, sync_id, entry.sku, entry.url,
                                                     entry.feed_hash, limits)
            except CatalogueError as exc:
                pipeline.record_family_failure(engine, sync_id, entry.sku, f"{type(exc).__name__}: {exc}",
                                               final=True)
                continue
            for url in uploads:
                _upload(engine, client, store, sync_id, url, limits)
            if on_progress:
                on_progress(f"{code}: {n}/{len(plan.to_process)} families")
        results.append(status.sync_summary(engine, sync_id))
    return [r for r in results if r]


def _upload(engine: Engine, client: FeedClient, store: ObjectStore, sync_id: int, url: str,
            limits: pipeline.Limits) -> None:
    # A body that does not decode is fetched again (the HTTP client retried only what HTTP can tell).
    for attempt in range(1, client.attempts + 1):
        try:
            pipeline.process_image(engine, client, store, sync_id, url, limits)
            return
        except CorruptImage as exc:
            final = attempt == client.attempts
            pipeline.record_image_failure(engine, sync_id, url, f"{type(exc).__name__}: {exc}", final=final)
        except CatalogueError as exc:
            pipeline.record_image_failure(engine, sync_id, url, f"{type(exc).__name__}: {exc}", final=True)
            return
