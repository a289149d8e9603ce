"""Queue depths straight from the Redis broker (messages waiting, per priority step)."""
from __future__ import annotations

from functools import lru_cache

import redis

from app.platform.celeryconfig import PRIORITY_SEPARATOR, PRIORITY_STEPS


def priority_list_key(queue: str, step: int) -> str:
    """kombu's Redis list for one priority step of a queue (step 0 is the queue name itself)."""
    return queue if step == 0 else f"{queue}{PRIORITY_SEPARATOR}{step}"


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=5)


def waiting_by_priority(url: str, queues: list[str] | tuple[str, ...]) -> dict[str, dict[int, int]]:
    """{queue: {priority step: messages waiting}} in one pipelined round trip."""
    pipe = _client(url).pipeline(transaction=False)
    for queue in queues:
        for step in PRIORITY_STEPS:
            pipe.llen(priority_list_key(queue, step))
    lengths = iter(pipe.execute())
    return {queue: {step: next(lengths) for step in PRIORITY_STEPS} for queue in queues}


def waiting(url: str, queues: list[str] | tuple[str, ...]) -> dict[str, int]:
    return {queue: sum(steps.values()) for queue, steps in waiting_by_priority(url, queues).items()}
