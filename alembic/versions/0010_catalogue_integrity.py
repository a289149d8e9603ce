"""catalogue: imprint positions and their images, decoded-image checks, runs holding the feed index

Imprint images (ChildProducts[].ImprintPositions[].ImprintLocationTexts.<lang>.Images[]) link
to their variant's print position. Stored images record when their bytes last decoded
completely. A run stores the Import.txt it read so its supplier syncs share one download.
Supplier syncs count their own duplicate lines.

Revision ID: 0010_catalogue_integrity
Revises: 0009_farcaster_fidelity
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010_catalogue_integrity"
down_revision = "0009_farcaster_fidelity"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalogue_imprint_positions",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("variant_id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("names", postgresql.JSONB(), nullable=False),
        sa.Column("max_print_area", sa.String(200)),
        sa.ForeignKeyConstraint(["variant_id"], ["catalogue_variants.id"], ondelete="CASCADE",
                                name="fk_catalogue_imprint_positions_variant_id_catalogue_variants"),
        sa.PrimaryKeyConstraint("id", name="pk_catalogue_imprint_positions"),
        sa.UniqueConstraint("variant_id", "code", name="uq_catalogue_imprint_positions_variant_code"),
    )
    op.create_table(
        "catalogue_imprint_images",
        sa.Column("imprint_position_id", sa.BigInteger(), nullable=False),
        sa.Column("image_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["imprint_position_id"], ["catalogue_imprint_positions.id"], ondelete="CASCADE",
                                name="fk_catalogue_imprint_images_imprint_position"),
        sa.ForeignKeyConstraint(["image_id"], ["catalogue_images.id"],
                                name="fk_catalogue_imprint_images_image_id_catalogue_images"),
        sa.PrimaryKeyConstraint("imprint_position_id", "image_id", name="pk_catalogue_imprint_images"),
    )
    op.create_index("ix_catalogue_imprint_images_image_id", "catalogue_imprint_images", ["image_id"])
    op.create_table(
        "catalogue_runs",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("import_url", sa.Text(), nullable=False),
        sa.Column("import_txt", sa.Text()),
        sa.Column("categories", sa.Integer()),
        sa.Column("malformed_unattributed", sa.Integer()),
        sa.Column("fetched_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("run_id", name="pk_catalogue_runs"),
    )
    op.create_index("ix_catalogue_runs_created_at", "catalogue_runs", ["created_at"])
    op.add_column("catalogue_images", sa.Column("verified_at", sa.DateTime(timezone=True)))
    op.add_column("catalogue_syncs", sa.Column("duplicate_lines", sa.Integer()))


def downgrade() -> None:
    op.drop_column("catalogue_syncs", "duplicate_lines")
    op.drop_column("catalogue_images", "verified_at")
    op.drop_table("catalogue_runs")
    op.drop_table("catalogue_imprint_images")
    op.drop_table("catalogue_imprint_positions")
