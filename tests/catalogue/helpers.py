"""Counting what the catalogue tables hold, for comparison with the simulator's ground truth."""
from __future__ import annotations

from typing import Any

from sqlalchemy import text

from app.db import get_engine


def table_counts() -> dict[str, int]:
    queries = {
        "families": "SELECT count(*) FROM catalogue_products",
        "active_families": "SELECT count(*) FROM catalogue_products WHERE active",
        "variants": "SELECT count(*) FROM catalogue_variants",
        "price_tiers": "SELECT count(*) FROM catalogue_price_tiers",
        "images": "SELECT count(*) FROM catalogue_images",
        "stored_images": "SELECT count(*) FROM catalogue_images WHERE stored_at IS NOT NULL",
        "distinct_keys": "SELECT count(DISTINCT storage_key) FROM catalogue_images",
    }
    with get_engine().connect() as conn:
        return {name: conn.execute(text(q)).scalar_one() for name, q in queries.items()}


def image_urls() -> set[str]:
    with get_engine().connect() as conn:
        return set(conn.execute(text("SELECT source_url FROM catalogue_images")).scalars())


def product_hashes(supplier: str) -> dict[str, tuple[str, bool]]:
    with get_engine().connect() as conn:
        return {sku: (h, a) for sku, h, a in conn.execute(text(
            "SELECT p.sku, p.feed_hash, p.active FROM catalogue_products p "
            "JOIN catalogue_suppliers s ON s.id = p.supplier_id WHERE s.code = :c"), {"c": supplier})}


def totals(syncs: list[dict[str, Any]], key: str) -> int:
    return sum(s[key] for s in syncs)
