"""platform: the jobs table (durable job history fed by Celery signals)

Revision ID: 0001_platform
Revises:
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001_platform"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("queue", sa.String(100)),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("args", postgresql.JSONB()),
        sa.Column("kwargs", postgresql.JSONB()),
        sa.Column("priority", sa.SmallInteger()),
        sa.Column("progress", sa.SmallInteger()),
        sa.Column("progress_info", postgresql.JSONB()),
        sa.Column("result", postgresql.JSONB()),
        sa.Column("error", sa.Text()),
        sa.Column("traceback", sa.Text()),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("worker", sa.String(200)),
        sa.Column("parent_id", sa.String(64)),
        sa.Column("root_id", sa.String(64)),
        sa.Column("eta", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_jobs"),
    )
    op.create_index("ix_jobs_queue_state", "jobs", ["queue", "state"])
    op.create_index("ix_jobs_state_updated", "jobs", ["state", "updated_at"])
    op.create_index("ix_jobs_parent_id", "jobs", ["parent_id"])
    op.create_index("ix_jobs_name_created", "jobs", ["name", "created_at"])


def downgrade() -> None:
    op.drop_table("jobs")
