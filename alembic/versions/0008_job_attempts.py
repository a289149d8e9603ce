"""jobs: every attempt of a job (start, end, worker, outcome, error), not only the last

Revision ID: 0008_job_attempts
Revises: 0007_farcaster_write_path
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_job_attempts"
down_revision = "0007_farcaster_write_path"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_attempts",
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("worker", sa.String(200)),
        sa.Column("state", sa.String(16), nullable=False, server_default="STARTED"),
        sa.Column("error", sa.Text),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("job_id", "attempt", name="pk_job_attempts"),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name="fk_job_attempts_job_id_jobs", ondelete="CASCADE"),
    )


def downgrade() -> None:
    op.drop_table("job_attempts")
