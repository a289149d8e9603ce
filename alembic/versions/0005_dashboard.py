"""dashboard: paused queues (remembered across worker restarts) and the jobs it sent again

Revision ID: 0005_dashboard
Revises: 0004_farcaster
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_dashboard"
down_revision = "0004_farcaster"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dashboard_paused_queues",
        sa.Column("queue", sa.String(100), nullable=False),
        sa.Column("paused_by", sa.String(200)),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("queue", name="pk_dashboard_paused_queues"),
    )
    op.create_table(
        "dashboard_resends",
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("original_id", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(200)),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("job_id", name="pk_dashboard_resends"),
        sa.CheckConstraint("reason IN ('retry', 'run_now')", name="ck_dashboard_resends_reason"),
    )
    op.create_index("ix_dashboard_resends_original_id", "dashboard_resends", ["original_id"], unique=True)


def downgrade() -> None:
    op.drop_table("dashboard_resends")
    op.drop_table("dashboard_paused_queues")
