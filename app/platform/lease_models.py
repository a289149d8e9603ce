"""Tables of the work leases (app/platform/leases.py): who runs what, and who is alive."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Index, Integer, SmallInteger, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base


class Lease(Base):
    """One unit of work (kind + key) a worker process runs, with what it takes to send it again."""

    __tablename__ = "leases"

    kind: Mapped[str] = mapped_column(String(200), primary_key=True)  # the task name
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    # The fencing token: raised on every take and every take-over, checked by each write.
    epoch: Mapped[int] = mapped_column(BigInteger, default=1, server_default="1")
    state: Mapped[str] = mapped_column(String(16))  # running | released | resent
    owner: Mapped[str | None] = mapped_column(String(300))  # lease_owners.owner while running
    task_id: Mapped[str] = mapped_column(String(64))  # re-sent with the same id (analysis job ids are task ids)
    task_name: Mapped[str] = mapped_column(String(200))
    queue: Mapped[str | None] = mapped_column(String(100))
    priority: Mapped[int | None] = mapped_column(SmallInteger)
    args: Mapped[Any] = mapped_column(JSONB, nullable=True)
    kwargs: Mapped[Any] = mapped_column(JSONB, nullable=True)
    delivery_tag: Mapped[str | None] = mapped_column(String(64))  # the broker message the owner holds unacked
    taken_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resends: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    previous_owner: Mapped[str | None] = mapped_column(String(300))  # the owner a take-over replaced

    __table_args__ = (Index("ix_leases_state_taken", "state", "taken_at"), Index("ix_leases_task_id", "task_id"))


class LeaseOwner(Base):
    """A worker process's heartbeat: its leases are alive while expires_at is in the future."""

    __tablename__ = "lease_owners"

    owner: Mapped[str] = mapped_column(String(300), primary_key=True)  # "<worker nodename>:<pid>"
    hostname: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_lease_owners_expires", "expires_at"),)
