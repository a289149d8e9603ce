"""Pause and resume a queue across every worker, remembered in PostgreSQL.

A pause is a row in dashboard_paused_queues plus a cancel_consumer broadcast to
the workers running now; workers started later read the table when they become
ready (the QueuePauses extension, app.platform.worker_pauses). Messages sent to a paused queue wait in
Redis. Resuming deletes the row and asks the workers that were started to
consume the queue to consume it again (a plain add_consumer broadcast would
make every worker, of every pool, consume it).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, String, delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Mapped, mapped_column

from app.db import get_engine
from app.db.base import Base
from workers.pools import QUEUES


class PausedQueue(Base):
    """A queue no worker consumes until it is resumed; workers started later read this on start."""

    __tablename__ = "dashboard_paused_queues"

    queue: Mapped[str] = mapped_column(String(100), primary_key=True)
    paused_by: Mapped[str | None] = mapped_column(String(200))
    paused_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


paused_table = PausedQueue.__table__

RESUME_COMMAND = "switchyard_resume_queue"  # the worker-side command (app.platform.worker_pauses)


class UnknownQueue(ValueError):
    def __init__(self, queue: str) -> None:
        super().__init__(f"unknown queue {queue!r}; one of {', '.join(QUEUES)}")


@dataclass(frozen=True)
class Pause:
    queue: str
    paused_by: str | None
    paused_at: datetime


@dataclass(frozen=True)
class Broadcast:
    """What the workers answered to a pause or resume."""

    changed: tuple[str, ...]  # workers that stopped / started consuming
    answered: int  # workers that replied at all


def check_queue(queue: str) -> str:
    if queue not in QUEUES:
        raise UnknownQueue(queue)
    return queue


def paused_queues() -> dict[str, Pause]:
    with get_engine().connect() as conn:
        rows = conn.execute(select(paused_table)).mappings()
        return {row["queue"]: Pause(row["queue"], row["paused_by"], row["paused_at"]) for row in rows}


def pause(queue: str, *, by: str | None = None, reply_timeout: float = 1.0) -> Broadcast:
    """Remember the pause first, so a worker starting during the broadcast still honours it."""
    check_queue(queue)
    stmt = insert(paused_table).values(queue=queue, paused_by=by).on_conflict_do_nothing()
    with get_engine().begin() as conn:
        conn.execute(stmt)
    from app.platform.celery_app import celery

    replies = celery.control.cancel_consumer(queue, reply=True, timeout=reply_timeout)
    return _summarise(replies, lambda answer: "error" not in answer)


def resume(queue: str, *, reply_timeout: float = 1.0) -> Broadcast:
    check_queue(queue)
    with get_engine().begin() as conn:
        conn.execute(delete(paused_table).where(paused_table.c.queue == queue))
    from app.platform.celery_app import celery

    replies = celery.control.broadcast(RESUME_COMMAND, arguments={"queue": queue}, reply=True,
                                       timeout=reply_timeout)
    return _summarise(replies, lambda answer: bool(answer.get("resumed")))


def _summarise(replies: list[dict[str, Any]] | None, changed: Any) -> Broadcast:
    names = []
    for reply in replies or ():
        for worker, answer in reply.items():
            if isinstance(answer, dict) and changed(answer):
                names.append(worker)
    return Broadcast(changed=tuple(sorted(names)), answered=len(replies or ()))
