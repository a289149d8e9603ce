"""Re-send the messages Redis lost (FLUSHALL, a restart without persistence, a failover to an
empty replica): every job the jobs table still records as PENDING, sent before the loss was
noticed, is published again with its task id, name, arguments, queue and priority.

The loss is noticed by a marker key in the broker's Redis that beat writes and checks every
tick (app/platform/beat_scheduler.py). A message that in fact survived (published between the
loss and its discovery, or prefetched by a worker) then exists twice; tasks are idempotent and
leased, and an analysis that already finished answers the second message without running.
Canaries (worthless once late) and jobs whose arguments the jobs table only kept truncated are
not re-sent.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

MARKER_KEY = "switchyard:broker:intact"  # absent: this Redis lost its data since beat last looked
RESEND_TASK = "maintenance.resend_lost"
SKIPPED_PREFIXES = ("canary.",)

Publish = Callable[[str, str, list[Any], dict[str, Any], str | None, int | None], None]


def _truncated(value: Any) -> bool:
    return isinstance(value, dict) and (value.get("truncated") is True or "unserializable" in value)


def resend_pending(engine: Engine, publish: Publish, *, limit: int = 100_000) -> dict[str, int]:
    """publish(task_id, name, args, kwargs, queue, priority) for every job still PENDING (by the
    database's clock: sent before now)."""
    with engine.connect() as conn:
        rows = conn.execute(text("""
            SELECT id, name, args, kwargs, queue, priority FROM jobs
            WHERE state = 'PENDING' AND created_at < now() ORDER BY created_at LIMIT :limit
        """), {"limit": limit}).all()
    resent = skipped = 0
    for job_id, name, args, kwargs, queue, priority in rows:
        if name.startswith(SKIPPED_PREFIXES) or _truncated(args) or _truncated(kwargs):
            skipped += 1
            continue
        publish(job_id, name, list(args or []), dict(kwargs or {}), queue, priority)
        resent += 1
    if resent or skipped:
        log.warning("broker lost its data: re-sent %d pending job(s), skipped %d", resent, skipped)
    return {"resent": resent, "skipped": skipped}
