"""analysis: the analysis_jobs table (durable record of each analysis request and its result)

Revision ID: 0003_analysis
Revises: 0002_catalogue
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003_analysis"
down_revision = "0002_catalogue"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analysis_jobs",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("tool_id", sa.String(100), nullable=False),
        sa.Column("url", sa.Text()),
        sa.Column("description", sa.Text()),
        sa.Column("priority", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("progress", sa.SmallInteger(), nullable=False, server_default="0"),
        sa.Column("step", sa.String(32)),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("result", postgresql.JSONB()),
        sa.Column("error", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_analysis_jobs"),
        sa.CheckConstraint("priority IN ('low', 'normal', 'high')", name="ck_analysis_jobs_priority"),
        sa.CheckConstraint("status IN ('queued', 'running', 'retrying', 'completed', 'failed')",
                           name="ck_analysis_jobs_status"),
        sa.CheckConstraint("progress BETWEEN 0 AND 100", name="ck_analysis_jobs_progress"),
    )
    op.create_index("ix_analysis_jobs_tool_created", "analysis_jobs", ["tool_id", "created_at"])
    op.create_index("ix_analysis_jobs_status_updated", "analysis_jobs", ["status", "updated_at"])


def downgrade() -> None:
    op.drop_table("analysis_jobs")
