"""catalogue: suppliers, products (families), variants, price tiers, images, categories, sync runs

Revision ID: 0002_catalogue
Revises: 0001_platform
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002_catalogue"
down_revision = "0001_platform"
branch_labels = None
depends_on = None

# Children first, so downgrade drops in this order.
TABLES = ('catalogue_variant_images', 'catalogue_price_tiers', 'catalogue_variants', 'catalogue_product_images', 'catalogue_sync_images', 'catalogue_sync_families', 'catalogue_products', 'catalogue_syncs', 'catalogue_suppliers', 'catalogue_images', 'catalogue_categories')


def upgrade() -> None:
    op.create_table('catalogue_categories',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('names', postgresql.JSONB(), nullable=False),
    sa.Column('parent_key', sa.String(length=200), nullable=True),
    sa.Column('icon', sa.Text(), nullable=True),
    sa.Column('image', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_catalogue_categories'))
    )
    op.create_table('catalogue_images',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('source_url', sa.Text(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=True),
    sa.Column('storage_key', sa.Text(), nullable=True),
    sa.Column('size_bytes', sa.Integer(), nullable=True),
    sa.Column('content_type', sa.String(length=100), nullable=True),
    sa.Column('stored_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalogue_images')),
    sa.UniqueConstraint('source_url', name=op.f('uq_catalogue_images_source_url'))
    )
    op.create_index(op.f('ix_catalogue_images_content_hash'), 'catalogue_images', ['content_hash'], unique=False)
    op.create_table('catalogue_suppliers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=True),
    sa.Column('active', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('last_sync_id', sa.BigInteger(), nullable=True),
    sa.Column('last_sync_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_sync_outcome', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalogue_suppliers')),
    sa.UniqueConstraint('code', name=op.f('uq_catalogue_suppliers_code'))
    )
    op.create_table('catalogue_syncs',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=True),
    sa.Column('supplier_code', sa.String(length=16), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('job_id', sa.String(length=64), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('families_in_feed', sa.Integer(), nullable=True),
    sa.Column('families_unchanged', sa.Integer(), nullable=True),
    sa.Column('families_deactivated', sa.Integer(), nullable=True),
    sa.Column('malformed_lines', sa.Integer(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('fanned_out_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalogue_syncs')),
    sa.UniqueConstraint('job_id', name=op.f('uq_catalogue_syncs_job_id'))
    )
    op.create_index(op.f('ix_catalogue_syncs_run_id'), 'catalogue_syncs', ['run_id'], unique=False)
    op.create_index('ix_catalogue_syncs_supplier_started', 'catalogue_syncs', ['supplier_code', 'started_at'], unique=False)
    op.create_table('catalogue_products',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('sku', sa.String(length=100), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('supplier_sku', sa.String(length=100), nullable=True),
    sa.Column('feed_hash', sa.String(length=40), nullable=True),
    sa.Column('json_url', sa.Text(), nullable=True),
    sa.Column('names', postgresql.JSONB(), nullable=False),
    sa.Column('descriptions', postgresql.JSONB(), nullable=False),
    sa.Column('category_key', sa.String(length=200), nullable=True),
    sa.Column('brand', sa.String(length=200), nullable=True),
    sa.Column('summary_price', sa.Numeric(precision=12, scale=4), nullable=True),
    sa.Column('summary_price_region', sa.String(length=32), nullable=True),
    sa.Column('active', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('synced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['supplier_id'], ['catalogue_suppliers.id'], name=op.f('fk_catalogue_products_supplier_id_catalogue_suppliers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalogue_products')),
    sa.UniqueConstraint('sku', name=op.f('uq_catalogue_products_sku'))
    )
    op.create_index('ix_catalogue_products_supplier_active', 'catalogue_products', ['supplier_id', 'active'], unique=False)
    op.create_table('catalogue_sync_families',
    sa.Column('sync_id', sa.BigInteger(), nullable=False),
    sa.Column('sku', sa.String(length=100), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['sync_id'], ['catalogue_syncs.id'], name=op.f('fk_catalogue_sync_families_sync_id_catalogue_syncs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('sync_id', 'sku', name=op.f('pk_catalogue_sync_families'))
    )
    op.create_index('ix_catalogue_sync_families_pending', 'catalogue_sync_families', ['sync_id'], unique=False,
                    postgresql_where=sa.text("state IN ('queued', 'retrying')"))
    op.create_table('catalogue_sync_images',
    sa.Column('sync_id', sa.BigInteger(), nullable=False),
    sa.Column('image_id', sa.BigInteger(), nullable=False),
    sa.Column('claimed_by', sa.String(length=100), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['image_id'], ['catalogue_images.id'], name=op.f('fk_catalogue_sync_images_image_id_catalogue_images'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sync_id'], ['catalogue_syncs.id'], name=op.f('fk_catalogue_sync_images_sync_id_catalogue_syncs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('sync_id', 'image_id', name=op.f('pk_catalogue_sync_images'))
    )
    op.create_index('ix_catalogue_sync_images_sync_claimed_by', 'catalogue_sync_images', ['sync_id', 'claimed_by'], unique=False)
    op.create_index('ix_catalogue_sync_images_pending', 'catalogue_sync_images', ['sync_id'], unique=False,
                    postgresql_where=sa.text("outcome IN ('queued', 'retrying')"))
    op.create_table('catalogue_product_images',
    sa.Column('product_id', sa.BigInteger(), nullable=False),
    sa.Column('image_id', sa.BigInteger(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['image_id'], ['catalogue_images.id'], name=op.f('fk_catalogue_product_images_image_id_catalogue_images')),
    sa.ForeignKeyConstraint(['product_id'], ['catalogue_products.id'], name=op.f('fk_catalogue_product_images_product_id_catalogue_products'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('product_id', 'image_id', name=op.f('pk_catalogue_product_images'))
    )
    op.create_index(op.f('ix_catalogue_product_images_image_id'), 'catalogue_product_images', ['image_id'], unique=False)
    op.create_table('catalogue_variants',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('product_id', sa.BigInteger(), nullable=False),
    sa.Column('sku', sa.String(length=100), nullable=False),
    sa.Column('supplier_sku', sa.String(length=100), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('colour', sa.String(length=200), nullable=True),
    sa.Column('size', sa.String(length=100), nullable=True),
    sa.Column('hex_colour', sa.String(length=16), nullable=True),
    sa.Column('ean', sa.String(length=32), nullable=True),
    sa.Column('weight_g', sa.Numeric(precision=12, scale=3), nullable=True),
    sa.Column('length_mm', sa.Numeric(precision=12, scale=3), nullable=True),
    sa.Column('width_mm', sa.Numeric(precision=12, scale=3), nullable=True),
    sa.Column('height_mm', sa.Numeric(precision=12, scale=3), nullable=True),
    sa.Column('diameter_mm', sa.Numeric(precision=12, scale=3), nullable=True),
    sa.Column('depth_mm', sa.Numeric(precision=12, scale=3), nullable=True),
    sa.Column('names', postgresql.JSONB(), nullable=False),
    sa.Column('active', sa.Boolean(), server_default='true', nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['catalogue_products.id'], name=op.f('fk_catalogue_variants_product_id_catalogue_products'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalogue_variants')),
    sa.UniqueConstraint('sku', name=op.f('uq_catalogue_variants_sku'))
    )
    op.create_index(op.f('ix_catalogue_variants_product_id'), 'catalogue_variants', ['product_id'], unique=False)
    op.create_table('catalogue_price_tiers',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('variant_id', sa.BigInteger(), nullable=False),
    sa.Column('region', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('price', sa.Numeric(precision=12, scale=4), nullable=False),
    sa.Column('currency', sa.String(length=16), nullable=False),
    sa.Column('on_request', sa.Boolean(), nullable=False),
    sa.Column('min_order_quantity', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['variant_id'], ['catalogue_variants.id'], name=op.f('fk_catalogue_price_tiers_variant_id_catalogue_variants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalogue_price_tiers')),
    sa.UniqueConstraint('variant_id', 'region', 'kind', 'quantity', name='uq_catalogue_price_tiers_variant_region_kind_qty')
    )
    op.create_table('catalogue_variant_images',
    sa.Column('variant_id', sa.BigInteger(), nullable=False),
    sa.Column('image_id', sa.BigInteger(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['image_id'], ['catalogue_images.id'], name=op.f('fk_catalogue_variant_images_image_id_catalogue_images')),
    sa.ForeignKeyConstraint(['variant_id'], ['catalogue_variants.id'], name=op.f('fk_catalogue_variant_images_variant_id_catalogue_variants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('variant_id', 'image_id', name=op.f('pk_catalogue_variant_images'))
    )
    op.create_index(op.f('ix_catalogue_variant_images_image_id'), 'catalogue_variant_images', ['image_id'], unique=False)


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table)
