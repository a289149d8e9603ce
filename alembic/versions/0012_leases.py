"""platform: work leases and their owners' heartbeats (liveness-based recovery)

Revision ID: 0012_leases
Revises: 0011_farcaster_read_api
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012_leases"
down_revision = "0011_farcaster_read_api"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("kind", sa.String(200), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("epoch", sa.BigInteger(), server_default="1", nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(300), nullable=True),
        sa.Column("task_id", sa.String(64), nullable=False),
        sa.Column("task_name", sa.String(200), nullable=False),
        sa.Column("queue", sa.String(100), nullable=True),
        sa.Column("priority", sa.SmallInteger(), nullable=True),
        sa.Column("args", postgresql.JSONB(), nullable=True),
        sa.Column("kwargs", postgresql.JSONB(), nullable=True),
        sa.Column("delivery_tag", sa.String(64), nullable=True),
        sa.Column("taken_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resends", sa.Integer(), server_default="0", nullable=False),
        sa.Column("previous_owner", sa.String(300), nullable=True),
        sa.PrimaryKeyConstraint("kind", "key", name="pk_leases"),
    )
    op.create_index("ix_leases_state_taken", "leases", ["state", "taken_at"])
    op.create_index("ix_leases_task_id", "leases", ["task_id"])  # the job pages look leases up by task
    op.create_table(
        "lease_owners",
        sa.Column("owner", sa.String(300), nullable=False),
        sa.Column("hostname", sa.String(200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("owner", name="pk_lease_owners"),
    )
    op.create_index("ix_lease_owners_expires", "lease_owners", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_lease_owners_expires", table_name="lease_owners")
    op.drop_table("lease_owners")
    op.drop_index("ix_leases_task_id", table_name="leases")
    op.drop_index("ix_leases_state_taken", table_name="leases")
    op.drop_table("leases")
