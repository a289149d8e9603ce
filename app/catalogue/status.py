"""Read sync status: per sync, families queued/done/failed and images uploaded/skipped (CLI, bench, tests)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from app.catalogue import sync_runs
from app.catalogue.models import Product, Supplier, Sync, SyncFamily, SyncImage

syncs = Sync.__table__
suppliers = Supplier.__table__
products = Product.__table__
sync_families = SyncFamily.__table__
sync_images = SyncImage.__table__

SYNC_FIELDS = ("id", "run_id", "supplier_code", "mode", "state", "job_id", "error", "families_in_feed",
               "families_unchanged", "families_deactivated", "malformed_lines", "duplicate_lines", "started_at", "fanned_out_at",
               "finished_at")


def sync_summary(engine: Engine, sync_id: int) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(syncs).where(syncs.c.id == sync_id)).mappings().first()
        if row is None:
            return None
        return {**{k: row[k] for k in SYNC_FIELDS}, **sync_runs.sync_counts(conn, sync_id)}


def recent_syncs(engine: Engine, *, limit: int = 20, run_id: str | None = None,
                 supplier_code: str | None = None) -> list[dict[str, Any]]:
    stmt = select(syncs.c.id).order_by(syncs.c.id.desc()).limit(limit)
    if run_id:
        stmt = stmt.where(syncs.c.run_id == run_id)
    if supplier_code:
        stmt = stmt.where(syncs.c.supplier_code == supplier_code)
    with engine.connect() as conn:
        ids = list(conn.execute(stmt).scalars())
    return [s for i in ids if (s := sync_summary(engine, i))]


def failures(engine: Engine, sync_id: int, *, limit: int = 50) -> dict[str, list[dict[str, Any]]]:
    with engine.connect() as conn:
        families = conn.execute(select(sync_families.c.sku, sync_families.c.state, sync_families.c.attempts,
                                       sync_families.c.error)
                                .where(sync_families.c.sync_id == sync_id,
                                       sync_families.c.state.in_(("failed", "retrying")))
                                .order_by(sync_families.c.sku).limit(limit)).mappings().all()
        images = conn.execute(select(sync_images.c.image_id, sync_images.c.outcome, sync_images.c.error)
                              .where(sync_images.c.sync_id == sync_id,
                                     sync_images.c.outcome.in_(("failed", "retrying")))
                              .limit(limit)).mappings().all()
    return {"families": [dict(r) for r in families], "images": [dict(r) for r in images]}


def list_suppliers(engine: Engine) -> list[dict[str, Any]]:
    active_products = func.count(products.c.id).filter(products.c.active)
    stmt = (select(suppliers.c.code, suppliers.c.display_name, suppliers.c.active, suppliers.c.last_sync_id,
                   suppliers.c.last_sync_at, suppliers.c.last_sync_outcome,
                   active_products.label("active_products"), func.count(products.c.id).label("products"))
            .select_from(suppliers.outerjoin(products, products.c.supplier_id == suppliers.c.id))
            .group_by(suppliers.c.id).order_by(suppliers.c.code))
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(stmt).mappings()]
