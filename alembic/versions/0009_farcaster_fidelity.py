"""farcaster fidelity: shard marks and replays (retroactive relevance), gap recoveries,
refused reconciliations, counts of skipped hub data kinds

Revision ID: 0009_farcaster_fidelity
Revises: 0008_job_history
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009_farcaster_fidelity"
down_revision = "0008_job_history"
branch_labels = None
depends_on = None

_NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "farcaster_shard_marks",
        sa.Column("shard_index", sa.Integer(), nullable=False),
        sa.Column("next_event_id", sa.BigInteger(), nullable=False),
        sa.Column("block_timestamp", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.PrimaryKeyConstraint("shard_index", "next_event_id"),
    )
    op.create_index("ix_farcaster_shard_marks_shard_ts", "farcaster_shard_marks", ["shard_index", "block_timestamp"])
    op.create_table(
        "farcaster_replays",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("fids", postgresql.ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("from_event_ids", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("events", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_farcaster_replays_pending", "farcaster_replays", ["id"],
                    postgresql_where=sa.text("state = 'pending'"))
    op.create_table(
        "farcaster_gap_recoveries",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("reasons", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("state", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("apps", sa.Integer(), nullable=True),
        sa.Column("targets", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("uq_farcaster_gap_recoveries_pending", "farcaster_gap_recoveries", ["state"], unique=True,
                    postgresql_where=sa.text("state = 'pending'"))
    op.create_table(
        "farcaster_reconcile_refusals",
        sa.Column("fid", sa.BigInteger(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("active_rows", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("refused_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.PrimaryKeyConstraint("fid"),
    )
    op.create_table(
        "farcaster_skipped_kinds",
        sa.Column("kind", sa.String(length=128), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.PrimaryKeyConstraint("kind"),
    )


def downgrade() -> None:
    for table in ("farcaster_skipped_kinds", "farcaster_reconcile_refusals", "farcaster_gap_recoveries",
                  "farcaster_replays", "farcaster_shard_marks"):
        op.drop_table(table)
