"""Supplier sync, the planning half: compare the feed with what is stored, guard, mark, decide.

``plan_supplier_sync`` runs in one transaction: it either aborts having changed nothing (the
mass-disable guard), or records last-seen times, deactivates families gone from the feed and
lists the families to (re)process: new, changed hash, or coming back after deactivation.
The caller enqueues (or runs) those after the commit.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection

from app.catalogue import sync_runs
from app.catalogue.categories_csv import CategoryFile
from app.catalogue.errors import MassDisableAborted
from app.catalogue.import_index import FeedEntry, ImportIndex
from app.catalogue.models import Category, Product, Supplier

products = Product.__table__
suppliers = Supplier.__table__
categories = Category.__table__

# The feed carries no supplier names; these come from the Promidata dashboard (PromovereAtlasPim's map).
KNOWN_SUPPLIER_NAMES = {
    "A23": "XD Connects (Xindao)", "A34": "PF Concept", "A36": "Midocean", "A113": "Malfini",
    "A360": "Bosscher International BV", "A403": "Top Tex Group", "A461": "Texet Promo",
}
BATCH = 1000


@dataclass
class SupplierPlan:
    supplier_code: str
    supplier_id: int
    in_feed: int
    to_process: list[FeedEntry] = field(default_factory=list)
    unchanged: int = 0
    deactivated: int = 0
    retry_uploads: list[str] = field(default_factory=list)  # images of unchanged families never stored


def unstored_image_urls(conn: Connection, supplier_id: int) -> list[str]:
    """Images linked to the supplier's active products whose upload never succeeded (an earlier sync's
    failures): without this, an unchanged family would never get them retried."""
    return list(conn.execute(text("""
        SELECT i.source_url FROM catalogue_images i
          JOIN catalogue_product_images pi ON pi.image_id = i.id
          JOIN catalogue_products p ON p.id = pi.product_id
         WHERE p.supplier_id = :sid AND p.active AND i.stored_at IS NULL
        UNION
        SELECT i.source_url FROM catalogue_images i
          JOIN catalogue_variant_images vi ON vi.image_id = i.id
          JOIN catalogue_variants v ON v.id = vi.variant_id
          JOIN catalogue_products p ON p.id = v.product_id
         WHERE p.supplier_id = :sid AND p.active AND i.stored_at IS NULL
        UNION
        SELECT i.source_url FROM catalogue_images i
          JOIN catalogue_imprint_images ii ON ii.image_id = i.id
          JOIN catalogue_imprint_positions ip ON ip.id = ii.imprint_position_id
          JOIN catalogue_variants v ON v.id = ip.variant_id
          JOIN catalogue_products p ON p.id = v.product_id
         WHERE p.supplier_id = :sid AND p.active AND i.stored_at IS NULL
    """), {"sid": supplier_id}).scalars())


def ensure_suppliers(conn: Connection, codes: list[str]) -> dict[str, int]:
    """Upsert supplier rows (new ones active, with a known display name); return code -> id."""
    found = dict(conn.execute(select(suppliers.c.code, suppliers.c.id).where(suppliers.c.code.in_(codes))).all())
    missing = sorted(set(codes) - found.keys())  # usually none: one round trip
    if missing:
        conn.execute(insert(suppliers).on_conflict_do_nothing(index_elements=[suppliers.c.code]),
                     [{"code": c, "display_name": KNOWN_SUPPLIER_NAMES.get(c)} for c in missing])
        found.update(conn.execute(select(suppliers.c.code, suppliers.c.id)
                                  .where(suppliers.c.code.in_(missing))).all())
    return found  # type: ignore[return-value]


def active_supplier_codes(conn: Connection) -> set[str]:
    return set(conn.execute(select(suppliers.c.code).where(suppliers.c.active)).scalars())


def store_categories(conn: Connection, parsed: CategoryFile) -> int:
    rows = [{"key": c.key, "names": c.names, "icon": c.icon, "image": c.image, "parent_key": c.parent_key}
            for c in parsed.categories]
    for start in range(0, len(rows), BATCH):
        stmt = insert(categories).values(rows[start:start + BATCH])
        conn.execute(stmt.on_conflict_do_update(index_elements=[categories.c.key], set_={
            "names": stmt.excluded.names, "icon": stmt.excluded.icon, "image": stmt.excluded.image,
            "parent_key": stmt.excluded.parent_key, "updated_at": func.now()}))
    return len(rows)


def plan_supplier_sync(conn: Connection, index: ImportIndex, supplier_code: str, *,
                       mass_disable_ratio: float) -> SupplierPlan:
    sync_runs.lock_supplier_syncs(conn, supplier_code)
    supplier_id = ensure_suppliers(conn, [supplier_code])[supplier_code]
    entries = index.for_supplier(supplier_code)
    stored = {sku: (feed_hash, active) for sku, feed_hash, active in conn.execute(
        select(products.c.sku, products.c.feed_hash, products.c.active).where(products.c.supplier_id == supplier_id))}
    in_feed = {e.sku for e in entries}
    active = [sku for sku, (_, is_active) in stored.items() if is_active]
    gone = [sku for sku in active if sku not in in_feed]
    if active and len(gone) > mass_disable_ratio * len(active):
        raise MassDisableAborted(
            f"supplier {supplier_code}: the feed lists {len(in_feed)} families but {len(gone)} of the "
            f"{len(active)} active ones are missing ({len(gone) / len(active):.0%} > "
            f"{mass_disable_ratio:.0%}); refusing to deactivate them. Nothing was changed. If the supplier "
            f"really dropped them, raise CATALOGUE_MASS_DISABLE_RATIO for one run.")
    plan = SupplierPlan(supplier_code=supplier_code, supplier_id=supplier_id, in_feed=len(entries))
    for entry in entries:
        previous = stored.get(entry.sku)
        if previous and previous[1] and (previous[0] or "").upper() == entry.feed_hash:
            plan.unchanged += 1
        else:
            plan.to_process.append(entry)
    seen = sorted(in_feed & stored.keys())
    for start in range(0, len(seen), BATCH):
        conn.execute(update(products).where(products.c.sku.in_(seen[start:start + BATCH]))
                     .values(last_seen_at=func.now()))
    for start in range(0, len(gone), BATCH):
        conn.execute(update(products).where(products.c.sku.in_(gone[start:start + BATCH])).values(active=False))
    plan.deactivated = len(gone)
    return plan
