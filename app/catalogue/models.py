"""The catalogue schema (alembic/versions/0002_catalogue.py and 0010_catalogue_integrity.py; keep them in step)."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, Numeric, String, Text,
                        UniqueConstraint, func, text)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base

Money = Numeric(12, 4)
Measure = Numeric(12, 3)


class Supplier(Base):
    __tablename__ = "catalogue_suppliers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)  # the A-number
    display_name: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")  # synced by "sync all"
    last_sync_id: Mapped[int | None] = mapped_column(BigInteger)
    last_sync_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_sync_outcome: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Category(Base):
    __tablename__ = "catalogue_categories"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)  # CAT.csv KEY
    names: Mapped[Any] = mapped_column(JSONB, default=dict)  # {"de": "Büro / Schreibwaren"}
    parent_key: Mapped[str | None] = mapped_column(String(200))
    icon: Mapped[str | None] = mapped_column(Text)
    image: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Product(Base):
    """One product family: one Import.txt line, one JSON file."""

    __tablename__ = "catalogue_products"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    sku: Mapped[str] = mapped_column(String(100), unique=True)  # root Sku, e.g. A23-100804
    supplier_id: Mapped[int] = mapped_column(ForeignKey("catalogue_suppliers.id"))
    supplier_sku: Mapped[str | None] = mapped_column(String(100))
    feed_hash: Mapped[str | None] = mapped_column(String(40))  # Import.txt token of the stored version
    json_url: Mapped[str | None] = mapped_column(Text)
    names: Mapped[Any] = mapped_column(JSONB, default=dict)  # by language
    descriptions: Mapped[Any] = mapped_column(JSONB, default=dict)  # by language, may contain HTML
    category_key: Mapped[str | None] = mapped_column(String(200))  # CAT.csv KEY (not enforced: feeds lag)
    brand: Mapped[str | None] = mapped_column(String(200))
    summary_price: Mapped[Decimal | None] = mapped_column(Money)  # the cheapest selling tier
    summary_price_region: Mapped[str | None] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # last listed in the feed
    synced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # last stored from its JSON
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (Index("ix_catalogue_products_supplier_active", "supplier_id", "active"),)


class Variant(Base):
    __tablename__ = "catalogue_variants"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("catalogue_products.id", ondelete="CASCADE"), index=True)
    sku: Mapped[str] = mapped_column(String(100), unique=True)  # may equal its product's sku ("pattern A")
    supplier_sku: Mapped[str | None] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer, default=0)
    colour: Mapped[str | None] = mapped_column(String(200))
    size: Mapped[str | None] = mapped_column(String(100))
    hex_colour: Mapped[str | None] = mapped_column(String(16))
    ean: Mapped[str | None] = mapped_column(String(32))
    weight_g: Mapped[Decimal | None] = mapped_column(Measure)
    length_mm: Mapped[Decimal | None] = mapped_column(Measure)
    width_mm: Mapped[Decimal | None] = mapped_column(Measure)
    height_mm: Mapped[Decimal | None] = mapped_column(Measure)
    diameter_mm: Mapped[Decimal | None] = mapped_column(Measure)
    depth_mm: Mapped[Decimal | None] = mapped_column(Measure)
    names: Mapped[Any] = mapped_column(JSONB, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")  # false: left its family


class PriceTier(Base):
    __tablename__ = "catalogue_price_tiers"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("catalogue_variants.id", ondelete="CASCADE"))
    region: Mapped[str] = mapped_column(String(32))  # BENELUX, EURO, DEU, ...
    kind: Mapped[str] = mapped_column(String(16))  # selling | buying
    quantity: Mapped[int] = mapped_column(Integer)
    price: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(16))
    on_request: Mapped[bool] = mapped_column(Boolean, default=False)
    min_order_quantity: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (UniqueConstraint("variant_id", "region", "kind", "quantity",
                                       name="uq_catalogue_price_tiers_variant_region_kind_qty"),)


class Image(Base):
    """One source URL; its bytes are stored once per content hash (storage_key)."""

    __tablename__ = "catalogue_images"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source_url: Mapped[str] = mapped_column(Text, unique=True)
    content_hash: Mapped[str | None] = mapped_column(String(64), index=True)  # sha256 of the bytes
    storage_key: Mapped[str | None] = mapped_column(Text)
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(String(100))
    stored_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # null: not uploaded yet
    # When the stored bytes last decoded completely; null on images stored before decoding was checked
    # (`switchyard catalogue verify-images` checks those once).
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ProductImage(Base):
    __tablename__ = "catalogue_product_images"

    product_id: Mapped[int] = mapped_column(ForeignKey("catalogue_products.id", ondelete="CASCADE"),
                                            primary_key=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("catalogue_images.id"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(16))  # main | gallery
    position: Mapped[int] = mapped_column(Integer)


class VariantImage(Base):
    __tablename__ = "catalogue_variant_images"

    variant_id: Mapped[int] = mapped_column(ForeignKey("catalogue_variants.id", ondelete="CASCADE"),
                                            primary_key=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("catalogue_images.id"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(Integer)


class ImprintPosition(Base):
    """A variant's print position (PositionCode); its location images are in catalogue_imprint_images."""

    __tablename__ = "catalogue_imprint_positions"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("catalogue_variants.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(200))  # PositionCode, e.g. "item front_150x150mm"
    position: Mapped[int] = mapped_column(Integer)
    names: Mapped[Any] = mapped_column(JSONB, default=dict)  # ImprintLocationTexts.<lang>.Name
    max_print_area: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (UniqueConstraint("variant_id", "code", name="uq_catalogue_imprint_positions_variant_code"),)


class ImprintImage(Base):
    __tablename__ = "catalogue_imprint_images"

    imprint_position_id: Mapped[int] = mapped_column(
        ForeignKey("catalogue_imprint_positions.id", ondelete="CASCADE",
                   name="fk_catalogue_imprint_images_imprint_position"), primary_key=True)  # the convention's is > 63
    image_id: Mapped[int] = mapped_column(ForeignKey("catalogue_images.id"), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer)


class Run(Base):
    """One catalogue run (a "sync all", a scheduled slot or one CLI call): the feed index it read, once.

    Its supplier syncs parse the stored Import.txt instead of downloading it again. A scheduled
    run's id names its slot, so a slot delivered twice starts one run."""

    __tablename__ = "catalogue_runs"

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    trigger: Mapped[str] = mapped_column(String(16))  # manual | schedule
    import_url: Mapped[str] = mapped_column(Text)
    import_txt: Mapped[str | None] = mapped_column(Text)  # null until fetched
    categories: Mapped[int | None] = mapped_column(Integer)  # CAT.csv rows stored
    malformed_unattributed: Mapped[int | None] = mapped_column(Integer)  # bad lines naming no supplier
    fetched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)


class Sync(Base):
    """One supplier sync (queued or direct); the children's outcomes are in the two tables below."""

    __tablename__ = "catalogue_syncs"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    run_id: Mapped[str | None] = mapped_column(String(64), index=True)  # groups the suppliers of one "sync all"
    supplier_code: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(16))  # queued | direct
    # running -> fanned_out -> done; or aborted (mass-disable guard) / failed (feed unusable)
    state: Mapped[str] = mapped_column(String(16))
    job_id: Mapped[str | None] = mapped_column(String(64), unique=True)  # the supplier-sync task
    error: Mapped[str | None] = mapped_column(Text)
    families_in_feed: Mapped[int | None] = mapped_column(Integer)
    families_unchanged: Mapped[int | None] = mapped_column(Integer)
    families_deactivated: Mapped[int | None] = mapped_column(Integer)
    malformed_lines: Mapped[int | None] = mapped_column(Integer)  # this supplier's unreadable Import.txt lines
    duplicate_lines: Mapped[int | None] = mapped_column(Integer)  # this supplier's repeated families
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    fanned_out_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_catalogue_syncs_supplier_started", "supplier_code", "started_at"),)


class SyncFamily(Base):
    __tablename__ = "catalogue_sync_families"

    sync_id: Mapped[int] = mapped_column(ForeignKey("catalogue_syncs.id", ondelete="CASCADE"), primary_key=True)
    sku: Mapped[str] = mapped_column(String(100), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))  # queued | retrying | done | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        Index("ix_catalogue_sync_families_pending", "sync_id", postgresql_where=text("state IN ('queued', 'retrying')")),
    )


class SyncImage(Base):
    __tablename__ = "catalogue_sync_images"

    sync_id: Mapped[int] = mapped_column(ForeignKey("catalogue_syncs.id", ondelete="CASCADE"), primary_key=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("catalogue_images.id", ondelete="CASCADE"), primary_key=True)
    claimed_by: Mapped[str] = mapped_column(String(100))  # the family that enqueued the upload
    outcome: Mapped[str] = mapped_column(String(16))  # queued | retrying | uploaded | skipped | failed
    error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        Index("ix_catalogue_sync_images_sync_claimed_by", "sync_id", "claimed_by"),
        # "Is anything still pending?" runs after every upload: answered from this small index.
        Index("ix_catalogue_sync_images_pending", "sync_id", postgresql_where=text("outcome IN ('queued', 'retrying')")),
    )
