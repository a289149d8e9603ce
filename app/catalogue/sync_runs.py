"""Durable sync records: one row per supplier sync plus one per family and image it touched.

Counters are derived from the per-family and per-image rows (one row per key, upserted),
so a redelivered task can never count twice. The last child to finish marks the sync done.
"""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, exists, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection

from app.catalogue.models import Supplier, Sync, SyncFamily, SyncImage
from app.platform import leases


def new_run_id() -> str:
    """Groups the supplier syncs of one "sync all" (or of one CLI call) in catalogue_syncs."""
    return f"run-{uuid.uuid4().hex[:12]}"

syncs = Sync.__table__
sync_families = SyncFamily.__table__
sync_images = SyncImage.__table__
suppliers = Supplier.__table__

FAMILY_PENDING = ("queued", "retrying")
IMAGE_PENDING = ("queued", "retrying")


def start_sync(conn: Connection, *, supplier_code: str, mode: str, job_id: str | None,
               run_id: str | None) -> int:
    """Create the sync row; a redelivered supplier task (same job id) gets its existing row back."""
    stmt = insert(syncs).values(supplier_code=supplier_code, mode=mode, state="running", job_id=job_id,
                                run_id=run_id)
    if job_id is None:
        return conn.execute(stmt.returning(syncs.c.id)).scalar_one()
    stmt = stmt.on_conflict_do_update(index_elements=[syncs.c.job_id], set_={"state": "running", "error": None})
    return conn.execute(stmt.returning(syncs.c.id)).scalar_one()


def end_sync(conn: Connection, sync_id: int, *, state: str, error: str | None = None) -> None:
    """Aborted or failed before fan-out; also recorded on the supplier."""
    leases.fence(conn)  # the outcome of work whose lease was taken over is refused
    conn.execute(update(syncs).where(syncs.c.id == sync_id)
                 .values(state=state, error=error, finished_at=func.now()))
    _record_on_supplier(conn, sync_id, f"{state}: {error}" if error else state)


def mark_fanned_out(conn: Connection, sync_id: int, *, in_feed: int, unchanged: int, deactivated: int,
                    malformed_lines: int, duplicate_lines: int) -> None:
    """``malformed_lines`` and ``duplicate_lines``: this supplier's own Import.txt lines."""
    leases.fence(conn)  # the outcome of work whose lease was taken over is refused
    conn.execute(update(syncs).where(syncs.c.id == sync_id).values(
        state="fanned_out", fanned_out_at=func.now(), families_in_feed=in_feed, families_unchanged=unchanged,
        families_deactivated=deactivated, malformed_lines=malformed_lines, duplicate_lines=duplicate_lines))


def queue_families(conn: Connection, sync_id: int, skus: list[str]) -> None:
    if skus:
        conn.execute(insert(sync_families).on_conflict_do_nothing(),
                     [{"sync_id": sync_id, "sku": sku, "state": "queued"} for sku in skus])


def set_family_state(conn: Connection, sync_id: int, sku: str, state: str, error: str | None = None) -> None:
    leases.fence(conn)  # the outcome of work whose lease was taken over is refused
    stmt = insert(sync_families).values(sync_id=sync_id, sku=sku, state=state, error=error, attempts=1)
    conn.execute(stmt.on_conflict_do_update(
        index_elements=[sync_families.c.sync_id, sync_families.c.sku],
        set_={"state": state, "error": error, "attempts": sync_families.c.attempts + 1, "updated_at": func.now()}))


def set_image_outcome(conn: Connection, sync_id: int, image_id: int, outcome: str, error: str | None = None,
                      claimed_by: str = "?") -> None:
    leases.fence(conn)  # the outcome of work whose lease was taken over is refused
    stmt = insert(sync_images).values(sync_id=sync_id, image_id=image_id, outcome=outcome, error=error,
                                      claimed_by=claimed_by)
    conn.execute(stmt.on_conflict_do_update(
        index_elements=[sync_images.c.sync_id, sync_images.c.image_id],
        set_={"outcome": outcome, "error": error, "updated_at": func.now()}))


def finish_if_complete(conn: Connection, sync_id: int) -> dict[str, Any] | None:
    """Mark the sync done when nothing is pending; return its counters and job id when this call did.

    Run after the caller's own outcome is committed."""
    pending_family = exists().where(and_(sync_families.c.sync_id == sync_id,
                                         sync_families.c.state.in_(FAMILY_PENDING)))
    pending_image = exists().where(and_(sync_images.c.sync_id == sync_id,
                                        sync_images.c.outcome.in_(IMAGE_PENDING)))
    done = conn.execute(
        update(syncs).where(syncs.c.id == sync_id, syncs.c.state == "fanned_out", ~pending_family, ~pending_image)
        .values(state="done", finished_at=func.now())
        .returning(syncs.c.job_id, syncs.c.malformed_lines, syncs.c.duplicate_lines)).first()
    if not done:
        return None
    counts = sync_counts(conn, sync_id)
    _record_on_supplier(conn, sync_id, "done: {families_done} families stored, {families_failed} failed, "
                                       "{images_uploaded} images uploaded".format(**counts))
    return {"job_id": done.job_id, "malformed_lines": done.malformed_lines, "duplicate_lines": done.duplicate_lines,
            **counts}


def _record_on_supplier(conn: Connection, sync_id: int, outcome: str) -> None:
    code = conn.execute(select(syncs.c.supplier_code).where(syncs.c.id == sync_id)).scalar_one()
    conn.execute(update(suppliers).where(suppliers.c.code == code)
                 .values(last_sync_id=sync_id, last_sync_at=func.now(), last_sync_outcome=outcome[:2000]))


def sync_counts(conn: Connection, sync_id: int) -> dict[str, int]:
    families: dict[str, int] = dict(conn.execute(select(sync_families.c.state, func.count())
                                 .where(sync_families.c.sync_id == sync_id).group_by(sync_families.c.state)).all())
    images: dict[str, int] = dict(conn.execute(select(sync_images.c.outcome, func.count())
                               .where(sync_images.c.sync_id == sync_id).group_by(sync_images.c.outcome)).all())
    return {
        "families_queued": sum(families.values()),
        "families_pending": sum(families.get(s, 0) for s in FAMILY_PENDING),
        "families_done": families.get("done", 0),
        "families_failed": families.get("failed", 0),
        "images_queued": sum(images.values()),
        "images_pending": sum(images.get(s, 0) for s in IMAGE_PENDING),
        "images_uploaded": images.get("uploaded", 0),
        "images_skipped": images.get("skipped", 0),
        "images_failed": images.get("failed", 0),
    }


def lock_supplier_syncs(conn: Connection, supplier_code: str) -> None:
    """Serialise the compare-and-mark step of concurrent syncs of one supplier (transaction-scoped)."""
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('catalogue-supplier:' || :code))"),
                 {"code": supplier_code})
