"""Per-caller request budget in Redis: a fixed one-minute window per identity (INCR + EXPIRE).
Over budget answers 429 with Retry-After (seconds to the next window). When Redis does not
answer, requests are served: the limit protects the database, it is not an access rule."""
from __future__ import annotations

import logging
import math
import time

import redis

from app.farcaster.read_api.errors import ReadApiError

log = logging.getLogger(__name__)
WINDOW_SECONDS = 60
KEY = "farcaster:read_api:rate:{caller}:{window}"


class RateLimiter:
    def __init__(self, client: redis.Redis, per_minute: int) -> None:
        self.client, self.per_minute = client, per_minute

    def check(self, caller: str) -> None:
        if self.per_minute <= 0:
            return
        now = time.time()
        window = int(now // WINDOW_SECONDS)
        key = KEY.format(caller=caller, window=window)
        try:
            pipe = self.client.pipeline()
            pipe.incr(key)
            pipe.expire(key, WINDOW_SECONDS * 2)
            used = int(pipe.execute()[0])
        except redis.RedisError as exc:
            log.warning("read API rate limit skipped: Redis unavailable (%s)", exc)
            return
        if used > self.per_minute:
            retry_after = max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
            raise ReadApiError(429, f"rate limit: {self.per_minute} requests a minute", headers={
                "Retry-After": str(retry_after)})
