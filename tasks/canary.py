"""One canary task per queue: `celery -A app call canary.<queue>` proves that pool consumes.

Beat sends them every CANARY_INTERVAL_SECONDS; `switchyard status` shows the
last one each queue completed, so a silently stalled consumer is visible.
"""
from __future__ import annotations

import socket
import time
from typing import Any

from app.platform.celery_app import celery
from workers.pools import QUEUES


def _make_canary(queue: str) -> None:
    @celery.task(name=f"canary.{queue}", queue_name=queue, bind=True, ignore_result=True, periodic=True, leased=False)
    def canary(self: Any) -> dict[str, Any]:
        return {"queue": queue, "worker": self.request.hostname or socket.gethostname(), "at": time.time()}


for _queue in QUEUES:
    _make_canary(_queue)
