"""The `jobs` table: one row per Celery task id, from publish to its final state."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, Integer, SmallInteger, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base


class JobState:
    """Celery's state names, plus REJECTED for messages a worker refused to decode."""

    PENDING = "PENDING"  # published, waiting in the broker
    STARTED = "STARTED"
    RETRY = "RETRY"  # failed an attempt, a retry is scheduled
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    REVOKED = "REVOKED"
    REJECTED = "REJECTED"  # undecodable or disallowed content (e.g. pickle)

    ALL = (PENDING, STARTED, RETRY, SUCCESS, FAILURE, REVOKED, REJECTED)
    FINAL = (SUCCESS, FAILURE, REVOKED, REJECTED)


SEARCH_DOCUMENT = "to_tsvector('simple'::regconfig, jobs_search_text(args, kwargs, result))"


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the Celery task id
    name: Mapped[str] = mapped_column(String(200))
    queue: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(16))
    args: Mapped[Any] = mapped_column(JSONB, nullable=True)
    kwargs: Mapped[Any] = mapped_column(JSONB, nullable=True)
    priority: Mapped[int | None] = mapped_column(SmallInteger)
    progress: Mapped[int | None] = mapped_column(SmallInteger)  # 0..100 for tasks that report it
    progress_info: Mapped[Any] = mapped_column(JSONB, nullable=True)  # e.g. {"step": "parse", "pages": 3}
    result: Mapped[Any] = mapped_column(JSONB, nullable=True)
    error: Mapped[str | None] = mapped_column(Text)
    traceback: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    worker: Mapped[str | None] = mapped_column(String(200))
    parent_id: Mapped[str | None] = mapped_column(String(64))
    root_id: Mapped[str | None] = mapped_column(String(64))
    eta: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        Index("ix_jobs_queue_state", "queue", "state"),
        Index("ix_jobs_state_updated", "state", "updated_at"),
        Index("ix_jobs_parent_id", "parent_id"),
        Index("ix_jobs_name_created", "name", "created_at"),
        Index("ix_jobs_id_prefix", "id", postgresql_ops={"id": "varchar_pattern_ops"}),
        Index("ix_jobs_finished_at", "finished_at"),  # the charts' window  # job ids looked up by a prefix
        # a value anywhere in args/kwargs/result (migration 0008 defines jobs_search_text)
        Index("ix_jobs_search", text(SEARCH_DOCUMENT), postgresql_using="gin"),
    )


class JobAttempt(Base):
    """One execution of a job: the jobs row keeps the latest; these keep them all (retention deletes both)."""

    __tablename__ = "job_attempts"

    job_id: Mapped[str] = mapped_column(String(64), ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    attempt: Mapped[int] = mapped_column(Integer, primary_key=True)
    worker: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), server_default=JobState.STARTED)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class JobLogLine(Base):
    """A log line a task wrote while it ran (app/platform/job_logs.py keeps at most 200 per attempt)."""

    __tablename__ = "job_logs"

    job_id: Mapped[str] = mapped_column(String(64), ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    attempt: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    logged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    level: Mapped[str] = mapped_column(String(10))
    logger: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
