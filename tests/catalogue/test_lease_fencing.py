"""Fencing in the catalogue's write paths: a supplier sync, a family or an image whose lease was
taken over stores nothing (each outcome is written in the same transaction as its data)."""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from app.catalogue import pipeline, sync_runs
from app.catalogue.feed_client import FeedClient
from app.catalogue.storage import LocalDirectoryStore
from app.catalogue.supplier_sync import ensure_suppliers
from app.db import get_engine
from app.platform import leases
from tests.catalogue.helpers import table_counts
from tests.platform.lease_helpers import stale


def limits() -> pipeline.Limits:
    return pipeline.Limits(index_bytes=1 << 24, family_bytes=1 << 22, image_bytes=1 << 22, mass_disable_ratio=0.5,
                           key_prefix="")


def scalar(sql: str, **params: Any) -> Any:
    with get_engine().connect() as conn:
        return conn.execute(text(sql), params).scalar()


def test_stale_supplier_family_and_image_writes_are_refused(db: str, feed: Any, tmp_path: Any) -> None:
    engine = get_engine()
    client = FeedClient(timeout=5, attempts=2, backoff_max=0.1, backoff_initial=0.05)
    index = pipeline.fetch_index(client, feed.import_url, limits())
    code = "A23"
    with engine.begin() as conn:
        ensure_suppliers(conn, index.supplier_codes())
        sync_id = sync_runs.start_sync(conn, supplier_code=code, mode="queued", job_id="job-1", run_id=None)

    with leases.holding(stale(engine, "catalogue.sync_supplier", "job-1")):
        with pytest.raises(leases.LeaseLost):
            pipeline.plan_supplier(engine, sync_id, index, code, limits())
        with pytest.raises(leases.LeaseLost):
            pipeline.fail_sync(engine, sync_id, "stale worker's error")
    assert scalar("SELECT count(*) FROM catalogue_sync_families") == 0
    assert scalar("SELECT state FROM catalogue_syncs WHERE id = :i", i=sync_id) == "running"

    plan = pipeline.plan_supplier(engine, sync_id, index, code, limits())  # the new owner
    entry, other = plan.to_process[0], plan.to_process[1]
    with leases.holding(stale(engine, "catalogue.sync_family", f"{sync_id}:{entry.sku}")):
        with pytest.raises(leases.LeaseLost):
            pipeline.process_family(engine, client, sync_id, entry.sku, entry.url, entry.feed_hash, limits())
        with pytest.raises(leases.LeaseLost):
            pipeline.record_family_failure(engine, sync_id, entry.sku, "stale", final=True)
    assert table_counts()["families"] == 0  # the upsert was in the refused transaction
    assert scalar("SELECT state FROM catalogue_sync_families WHERE sku = :s", s=entry.sku) == "queued"

    _, uploads = pipeline.process_family(engine, client, sync_id, other.sku, other.url, other.feed_hash, limits())
    assert uploads
    store = LocalDirectoryStore(tmp_path)
    with leases.holding(stale(engine, "catalogue.upload_image", f"{sync_id}:{uploads[0]}")):
        with pytest.raises(leases.LeaseLost):
            pipeline.process_image(engine, client, store, sync_id, uploads[0], limits())
        with pytest.raises(leases.LeaseLost):
            pipeline.record_image_failure(engine, sync_id, uploads[0], "stale", final=True)
    assert scalar("SELECT count(*) FROM catalogue_images WHERE source_url = :u AND stored_at IS NOT NULL",
                  u=uploads[0]) == 0
    assert scalar("SELECT count(*) FROM catalogue_sync_images WHERE sync_id = :i AND outcome NOT IN "
                  "('queued', 'retrying')", i=sync_id) == 0
    assert pipeline.process_image(engine, client, store, sync_id, uploads[0], limits()).image_id
