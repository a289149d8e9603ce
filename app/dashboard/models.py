"""The dashboard's durable state: the jobs it sent again (paused queues: app.platform.pauses)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base


class ResendReason:
    RETRY = "retry"  # a failed job sent again
    RUN_NOW = "run_now"  # a delayed (ETA) job revoked and sent again without its ETA
    RETRY_EDITED = "retry_edited"  # a failed job sent again with arguments an operator changed

    ALL = (RETRY, RUN_NOW, RETRY_EDITED)


class Resend(Base):
    """A job the dashboard sent again under a new task id, linked to the job it replaces."""

    __tablename__ = "dashboard_resends"

    job_id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the new Celery task id
    original_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(16))
    requested_by: Mapped[str | None] = mapped_column(String(200))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        # A job is replaced at most once: a double click or two operators cannot run it twice.
        Index("ix_dashboard_resends_original_id", "original_id", unique=True),
        CheckConstraint("reason IN ('retry', 'run_now', 'retry_edited')", name="reason"),
    )
