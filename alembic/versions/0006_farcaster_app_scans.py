"""farcaster: client-app discovery in slices of fids (one task each, re-sent until done)

Revision ID: 0006_farcaster_app_scans
Revises: 0005_dashboard
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_farcaster_app_scans"
down_revision = "0005_dashboard"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "farcaster_app_scan_chunks",
        sa.Column("app_fid", sa.BigInteger(), nullable=False),
        sa.Column("chunk", sa.Integer(), nullable=False),
        sa.Column("fids", sa.ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("done_at", sa.DateTime(timezone=True)),
        sa.Column("users", sa.Integer()),
        sa.PrimaryKeyConstraint("app_fid", "chunk", name="pk_farcaster_app_scan_chunks"),
    )


def downgrade() -> None:
    op.drop_table("farcaster_app_scan_chunks")
