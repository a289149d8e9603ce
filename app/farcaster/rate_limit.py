"""One hub request budget shared by every worker on every host: a token bucket in Redis (a Lua
script, so take-or-wait is atomic). The bucket runs on Redis's clock (TIME inside the script), so
hosts whose clocks disagree still share one rate: a client clock ahead would otherwise refill the
bucket, one behind would starve it. Losing the key only resets the bucket; if Redis is unreachable
the limiter lets requests through rather than stopping the indexer (the hub's 429s still apply)."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable

import redis

log = logging.getLogger(__name__)

# KEYS[1] bucket; ARGV: rate/s, capacity, [now (ms), tests only]. Returns 0 if a token was taken,
# else ms to wait. Redis >= 5 replicates a script's effects, not the script, so reading TIME
# before a write is allowed.
TOKEN_BUCKET = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if not now then
  local clock = redis.call('TIME')
  now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
end
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate / 1000)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) * 1000 / rate) end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
redis.call('PEXPIRE', KEYS[1], 60000)
return wait
"""


class RateLimiter:
    def __init__(self, client: redis.Redis, rate_per_second: float, key: str = "farcaster:hub:tokens",
                 clock: Callable[[], float] | None = None) -> None:
        self.client = client
        self.clock = clock  # None: Redis's clock, one timeline for every host; a fake one for tests
        self.rate = rate_per_second
        self.capacity = max(1.0, rate_per_second)  # at most one second of burst
        self.key = key
        self._script = client.register_script(TOKEN_BUCKET)
        self._warned = False

    def try_acquire(self) -> float:
        """Take a token: 0 when taken, else the seconds until one is due (none was taken)."""
        try:
            now = [] if self.clock is None else [int(self.clock() * 1000)]
            wait_ms = int(self._script(keys=[self.key], args=[self.rate, self.capacity, *now]))
        except redis.RedisError:
            if not self._warned:
                log.warning("hub rate limiter unavailable (Redis); requests are not throttled", exc_info=True)
                self._warned = True
            return 0.0
        return max(0, wait_ms) / 1000

    def acquire(self) -> None:
        """Take a token, waiting as long as the bucket says."""
        while (wait := self.try_acquire()) > 0:
            time.sleep(wait)
