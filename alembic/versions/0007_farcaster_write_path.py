"""farcaster: cast removes by fid; staged batches compressed with lz4

The COPY write path asks which of a batch's fids have rows in each table, cast removes
included. pglz compression of large staged batches took most of the poller's database time.

Revision ID: 0007_farcaster_write_path
Revises: 0006_farcaster_app_scans
"""
from __future__ import annotations

from alembic import op

revision = "0007_farcaster_write_path"
down_revision = "0006_farcaster_app_scans"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_farcaster_cast_removes_fid_timestamp", "farcaster_cast_removes", ["fid", "timestamp"])
    # lz4 needs a server built with it (PostgreSQL 14+, as Debian's and the official images are);
    # without it the column keeps the default compression.
    op.execute("""
        DO $$ BEGIN
            ALTER TABLE farcaster_staged_batches ALTER COLUMN events SET COMPRESSION lz4;
        EXCEPTION WHEN feature_not_supported OR syntax_error THEN
            RAISE NOTICE 'lz4 compression not available: staged batches keep the default';
        END $$
    """)


def downgrade() -> None:
    op.execute("ALTER TABLE farcaster_staged_batches ALTER COLUMN events SET COMPRESSION default")
    op.drop_index("ix_farcaster_cast_removes_fid_timestamp", table_name="farcaster_cast_removes")
