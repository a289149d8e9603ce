"""Retry delays: exponential in the attempt number, with jitter so retries of many jobs spread out."""
from __future__ import annotations

import random


def retry_delay(attempt: int, *, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based): uniform in [d/2, d], d = base * 2^(attempt-1) capped."""
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    return (rng or random).uniform(ceiling / 2, ceiling)
