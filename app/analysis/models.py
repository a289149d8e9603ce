"""The `analysis_jobs` table: the durable record of every analysis request and its outcome.

Kept apart from the generic `jobs` table so API clients can read a job's result
for as long as we keep analyses, whatever the job-history retention is.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, Index, Integer, SmallInteger, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base


class AnalysisStatus:
    QUEUED = "queued"  # accepted, waiting in the broker
    RUNNING = "running"
    RETRYING = "retrying"  # an attempt hit a network error; the next one is scheduled
    COMPLETED = "completed"
    FAILED = "failed"

    ALL = (QUEUED, RUNNING, RETRYING, COMPLETED, FAILED)
    FINAL = (COMPLETED, FAILED)


class AnalysisJob(Base):
    __tablename__ = "analysis_jobs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the Celery task id (jobId)
    tool_id: Mapped[str] = mapped_column(String(100))
    url: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    progress: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    step: Mapped[str | None] = mapped_column(String(32))  # what the current attempt is doing
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    result: Mapped[Any] = mapped_column(JSONB, nullable=True)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("priority IN ('low', 'normal', 'high')", name="priority"),
        CheckConstraint("status IN ('queued', 'running', 'retrying', 'completed', 'failed')", name="status"),
        CheckConstraint("progress BETWEEN 0 AND 100", name="progress"),
        Index("ix_analysis_jobs_tool_created", "tool_id", "created_at"),
        Index("ix_analysis_jobs_status_updated", "status", "updated_at"),
    )
