"""The sweep: re-send the work of dead lease owners, and drop their unacked broker messages.

Safe to run twice at once (two beats, a delayed message): ``leases.take_over_expired`` skips
rows another sweep holds, so each expired lease is re-sent by exactly one sweep. The work is
published inside the take-over's transaction: if publishing fails, nothing is marked and the
next sweep tries again; if the commit fails after publishing, the extra message finds the
lease running or free, and the take decides (a duplicate of live work is skipped).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from app.platform import leases

log = logging.getLogger(__name__)

Publish = Callable[[leases.TakenOver], None]
ForgetDelivery = Callable[[str], None]

RESEND_UNTAKEN_AFTER = 600  # seconds: a re-sent message still not taken was lost; send it once more
PRUNE_AFTER = 86400  # seconds: released leases and long-dead owners are forgotten


def sweep(engine: Engine, publish: Publish, forget_delivery: ForgetDelivery, *, limit: int = 1000) -> dict[str, Any]:
    with engine.begin() as conn:
        taken = leases.take_over_expired(conn, limit=limit, resend_after=RESEND_UNTAKEN_AFTER)
        for lease in taken:
            publish(lease)
    for lease in taken:
        log.warning("lease %s %s of %s expired: re-sent as epoch %s (task %s)", lease.kind, lease.key,
                    lease.previous_owner or "nobody", lease.epoch, lease.work.task_id)
        if lease.work.delivery_tag:
            try:
                forget_delivery(lease.work.delivery_tag)
            except Exception:  # noqa: BLE001 - it would only come back at the visibility timeout, and be skipped
                log.warning("could not drop unacked message %s", lease.work.delivery_tag, exc_info=True)
    with engine.begin() as conn:
        pruned = leases.prune(conn, older_than_seconds=PRUNE_AFTER)
    return {"resent": [{"kind": t.kind, "key": t.key, "epoch": t.epoch, "previous_owner": t.previous_owner}
                       for t in taken], "pruned": pruned}


def forget_unacked(redis_client: Any, delivery_tag: str, *, unacked_key: str = "unacked",
                   unacked_index_key: str = "unacked_index") -> None:
    """Remove a dead consumer's message from kombu's Redis ``unacked`` hash and index, so it is
    not restored to its queue at the visibility timeout (the sweep already re-sent it)."""
    pipe = redis_client.pipeline()
    pipe.zrem(unacked_index_key, delivery_tag)
    pipe.hdel(unacked_key, delivery_tag)
    pipe.execute()
