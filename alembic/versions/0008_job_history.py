"""jobs: every attempt of a job (start, end, worker, outcome, error), not only the last;
job ids found by a prefix (an index LIKE 'abc%' can use whatever the database's collation);
jobs found by a value in their arguments or result (a full-text index over their scalar values);
the log lines a task wrote while it ran; a dashboard retry with edited arguments; beat entries
switched off from the dashboard

Revision ID: 0008_job_history
Revises: 0007_farcaster_write_path
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_job_history"
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
    op.create_table(
        "job_logs",
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("logged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("logger", sa.String(200), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("job_id", "attempt", "seq", name="pk_job_logs"),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name="fk_job_logs_job_id_jobs", ondelete="CASCADE"),
    )
    op.drop_constraint("ck_dashboard_resends_reason", "dashboard_resends", type_="check")
    op.create_check_constraint("ck_dashboard_resends_reason", "dashboard_resends",
                               "reason IN ('retry', 'run_now', 'retry_edited')")
    op.create_table(
        "beat_switches",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("changed_by", sa.String(200)),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("name", name="pk_beat_switches"),
    )
    op.create_index("ix_jobs_id_prefix", "jobs", ["id"], postgresql_ops={"id": "varchar_pattern_ops"})
    op.create_index("ix_jobs_finished_at", "jobs", ["finished_at"])
    # Every scalar value anywhere in args, kwargs and result, as words ('simple': no stemming, so a
    # fid, a supplier code or a tool id matches as written). IMMUTABLE, so it can be indexed.
    op.execute("""
        CREATE FUNCTION jobs_search_text(args jsonb, kwargs jsonb, result jsonb) RETURNS text
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT coalesce(string_agg(value #>> '{}', ' '), '')
            FROM (SELECT jsonb_path_query(coalesce(args, 'null'), 'strict $.**') AS value
                  UNION ALL SELECT jsonb_path_query(coalesce(kwargs, 'null'), 'strict $.**')
                  UNION ALL SELECT jsonb_path_query(coalesce(result, 'null'), 'strict $.**')) AS found
            WHERE jsonb_typeof(value) IN ('string', 'number', 'boolean')
        $$
    """)
    op.execute("CREATE INDEX ix_jobs_search ON jobs USING gin "
               "(to_tsvector('simple'::regconfig, jobs_search_text(args, kwargs, result)))")


def downgrade() -> None:
    op.execute("DROP INDEX ix_jobs_search")
    op.execute("DROP FUNCTION jobs_search_text(jsonb, jsonb, jsonb)")
    op.drop_index("ix_jobs_finished_at", table_name="jobs")
    op.drop_index("ix_jobs_id_prefix", table_name="jobs")
    op.execute("DELETE FROM dashboard_resends WHERE reason = 'retry_edited'")
    op.drop_constraint("ck_dashboard_resends_reason", "dashboard_resends", type_="check")
    op.create_check_constraint("ck_dashboard_resends_reason", "dashboard_resends", "reason IN ('retry', 'run_now')")
    op.drop_table("beat_switches")
    op.drop_table("job_logs")
    op.drop_table("job_attempts")
