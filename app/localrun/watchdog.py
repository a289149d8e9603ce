"""The local run's consumption watchdog: restarts a pool whose queue stalled (app/platform/consumption)."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from app.platform.consumption import ConsumptionWatch, queue_activity

log = logging.getLogger(__name__)


def watch_consumption(restart: Callable[[str, str], None], stopping: Callable[[], bool], *,
                      stall_after: float, interval: float) -> threading.Thread:
    """Every `interval` s, check every queue; call restart(pool name, reason) for a stalled one."""
    from app.db import get_engine
    from app.platform.queues import waiting
    from app.settings import get_settings
    from workers.pools import QUEUES, pool_for_queue

    settings = get_settings()
    pools = {p.name: p for p in settings.pools()}

    def pool_of(queue: str) -> str:
        pool = pool_for_queue(queue)
        return pool.name if pool else queue

    time_limits = {q: pools[pool_of(q)].time_limit for q in QUEUES if pool_of(q) in pools}
    watch = ConsumptionWatch(stall_after, capacity=lambda q: pools[pool_of(q)].concurrency)

    def run() -> None:
        wake = threading.Event()
        while not stopping():
            wake.wait(interval)
            if stopping():
                return
            try:
                activity = queue_activity(get_engine(), waiting(settings.redis_url, QUEUES), time_limits)
                for stall in watch.check(activity):
                    restart(pool_of(stall.queue), f"consumption stalled: {stall.reason}")
                    watch.waiting_since.pop(stall.queue, None)  # give the new worker a full period
            except Exception as exc:  # noqa: BLE001 - Redis/PostgreSQL down: the next check retries
                log.warning("consumption check failed: %s", exc)

    thread = threading.Thread(target=run, name="consumption-watchdog", daemon=True)
    thread.start()
    return thread
