"""Store one product family: product, variants, price tiers, imprint positions and image links in one transaction.

Image rows are created here (by URL, ON CONFLICT DO NOTHING) so links exist at once; the bytes
follow in image uploads. ``claim_uploads`` hands each not-yet-stored image to exactly one family
per sync, so an image shared by many families is uploaded once.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, delete, func, literal, literal_column, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection

from app.catalogue.family import FamilyRecord
from app.catalogue.models import (Image, ImprintImage, ImprintPosition, PriceTier, Product, ProductImage, Supplier,
                                  SyncImage, Variant, VariantImage)
from app.catalogue.supplier_sync import KNOWN_SUPPLIER_NAMES, ensure_suppliers

products = Product.__table__
variants = Variant.__table__
price_tiers = PriceTier.__table__
images = Image.__table__
product_images = ProductImage.__table__
variant_images = VariantImage.__table__
imprint_positions = ImprintPosition.__table__
imprint_images = ImprintImage.__table__
sync_images = SyncImage.__table__
suppliers = Supplier.__table__


@dataclass(frozen=True)
class StoredFamily:
    product_id: int
    variants: int
    price_tiers: int
    image_links: int
    images: int  # distinct image URLs of the family


def upsert_family(conn: Connection, record: FamilyRecord, *, feed_hash: str, json_url: str) -> StoredFamily:
    supplier_id = ensure_suppliers(conn, [record.supplier_code])[record.supplier_code]
    if record.supplier_display_name and record.supplier_code not in KNOWN_SUPPLIER_NAMES:
        conn.execute(update(suppliers).where(suppliers.c.id == supplier_id, suppliers.c.display_name.is_(None))
                     .values(display_name=record.supplier_display_name))
    values = dict(
        sku=record.sku, supplier_id=supplier_id, supplier_sku=record.supplier_sku, feed_hash=feed_hash.upper(),
        json_url=json_url, names=record.names, descriptions=record.descriptions,
        category_key=record.category_key, brand=record.brand, summary_price=record.summary_price,
        summary_price_region=record.summary_price_region, active=True,
    )
    stmt = insert(products).values(**values, last_seen_at=func.now(), synced_at=func.now())
    product_id, created = conn.execute(stmt.on_conflict_do_update(
        index_elements=[products.c.sku],
        set_={**{k: stmt.excluded[k] for k in values if k != "sku"}, "last_seen_at": func.now(),
              "synced_at": func.now()},
    ).returning(products.c.id, literal_column("xmax = 0"))).one()  # xmax = 0: inserted, not updated

    variant_rows = [dict(
        product_id=product_id, sku=v.sku, supplier_sku=v.supplier_sku, position=v.position, colour=v.colour,
        size=v.size, hex_colour=v.hex_colour, ean=v.ean, weight_g=v.weight_g, length_mm=v.length_mm,
        width_mm=v.width_mm, height_mm=v.height_mm, diameter_mm=v.diameter_mm, depth_mm=v.depth_mm,
        names=v.names, active=True,
    ) for v in record.variants]
    stmt = insert(variants).values(variant_rows)
    returned = conn.execute(stmt.on_conflict_do_update(
        index_elements=[variants.c.sku],
        set_={k: stmt.excluded[k] for k in variant_rows[0] if k != "sku"},
    ).returning(variants.c.sku, variants.c.id, literal_column("xmax = 0"))).all()
    variant_ids = {sku: variant_id for sku, variant_id, _ in returned}
    ids = list(variant_ids.values())
    # All rows new (first sync of this family): no old variants, tiers or links; skip four round trips.
    # A variant that moved here from another family is not new, and takes the full path.
    fresh = created and all(inserted for _, _, inserted in returned)
    if not fresh:
        # Children that left the family stay (orders may point at them) but are no longer active.
        conn.execute(update(variants).where(variants.c.product_id == product_id,
                                            variants.c.sku.not_in(list(variant_ids))).values(active=False))
        conn.execute(delete(price_tiers).where(price_tiers.c.variant_id.in_(ids)))
    tier_rows = [dict(variant_id=variant_ids[v.sku], region=t.region, kind=t.kind, quantity=t.quantity,
                      price=t.price, currency=t.currency, on_request=t.on_request,
                      min_order_quantity=t.min_order_quantity)
                 for v in record.variants for t in v.prices]
    if tier_rows:
        conn.execute(insert(price_tiers), tier_rows)

    urls = record.image_urls()
    image_ids: dict[str, int] = {}
    if urls:
        # Sorted, so concurrent families insert shared URLs in one order (no deadlock).
        conn.execute(insert(images).on_conflict_do_nothing(index_elements=[images.c.source_url]),
                     [{"source_url": u} for u in sorted(urls)])
        image_ids = dict(conn.execute(select(images.c.source_url, images.c.id)
                                      .where(images.c.source_url.in_(urls))).all())
    if not fresh:
        conn.execute(delete(product_images).where(product_images.c.product_id == product_id))
        conn.execute(delete(variant_images).where(variant_images.c.variant_id.in_(ids)))
    links = [dict(product_id=product_id, image_id=image_ids[r.url], role=r.role, position=r.position)
             for r in record.images]
    if links:
        conn.execute(insert(product_images), links)
    variant_links = [dict(variant_id=variant_ids[v.sku], image_id=image_ids[r.url], role=r.role,
                          position=r.position) for v in record.variants for r in v.images]
    if variant_links:
        conn.execute(insert(variant_images), variant_links)
    imprint_links = _store_imprint_positions(conn, record, variant_ids, image_ids, replace=not fresh)
    return StoredFamily(product_id=product_id, variants=len(variant_rows), price_tiers=len(tier_rows),
                        image_links=len(links) + len(variant_links) + imprint_links, images=len(urls))


def _store_imprint_positions(conn: Connection, record: FamilyRecord, variant_ids: dict[str, int],
                             image_ids: dict[str, int], *, replace: bool) -> int:
    """Each variant's print positions and their images (replaced whole, as the other links are)."""
    if replace:  # the images' links go with their positions (ON DELETE CASCADE)
        conn.execute(delete(imprint_positions).where(imprint_positions.c.variant_id.in_(list(variant_ids.values()))))
    rows = [dict(variant_id=variant_ids[v.sku], code=p.code, position=p.position, names=p.names,
                 max_print_area=p.max_print_area) for v in record.variants for p in v.imprint_positions]
    if not rows:
        return 0
    position_ids = {(variant_id, code): position_id for variant_id, code, position_id in conn.execute(
        insert(imprint_positions).values(rows).returning(
            imprint_positions.c.variant_id, imprint_positions.c.code, imprint_positions.c.id))}
    links = [dict(imprint_position_id=position_ids[(variant_ids[v.sku], p.code)], image_id=image_ids[r.url],
                  position=r.position) for v in record.variants for p in v.imprint_positions for r in p.images]
    if links:
        conn.execute(insert(imprint_images), links)
    return len(links)


def claim_uploads(conn: Connection, sync_id: int, family_sku: str, urls: list[str]) -> list[str]:
    """URLs of this family's images not stored yet that this family must upload in this sync.

    A URL is claimed once per sync (the first family to see it). A redelivered family gets its
    unfinished claims back, so a crash between commit and enqueue loses no upload.
    """
    if not urls:
        return []
    conn.execute(insert(sync_images).from_select(
        ["sync_id", "image_id", "claimed_by", "outcome"],
        select(literal(sync_id), images.c.id, literal(family_sku), literal("queued"))
        .where(images.c.source_url.in_(urls), images.c.stored_at.is_(None)).order_by(images.c.id),
    ).on_conflict_do_nothing())
    return pending_claims(conn, sync_id, family_sku)


def pending_claims(conn: Connection, sync_id: int, claimed_by: str) -> list[str]:
    """URLs claimed by this family (or sweep) in this sync whose upload has not finished."""
    return list(conn.execute(
        select(images.c.source_url).join(sync_images, sync_images.c.image_id == images.c.id)
        .where(and_(sync_images.c.sync_id == sync_id, sync_images.c.claimed_by == claimed_by,
                    sync_images.c.outcome.in_(("queued", "retrying")))).order_by(images.c.id)).scalars())
