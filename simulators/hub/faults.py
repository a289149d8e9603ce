"""Fault injection for the simulated hub: latency, 5xx, 429 + Retry-After, truncated or
malformed bodies, connection resets. Probabilistic rates (seeded) for soak tests and demos,
plus one-shot faults (``inject``) for deterministic tests."""
from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, fields

KINDS = ("error", "rate_limit", "truncate", "malformed", "reset", "latency")


@dataclass
class FaultConfig:
    latency_ms: float = 0.0          # added to every matching request
    latency_jitter_ms: float = 0.0
    error_rate: float = 0.0          # 5xx
    error_status: int = 500
    rate_limit_rate: float = 0.0     # 429 with Retry-After
    retry_after: int = 1
    truncate_rate: float = 0.0       # Content-Length promises more than is sent, then close
    malformed_rate: float = 0.0      # 200 with a body that is not valid JSON
    reset_rate: float = 0.0          # TCP reset before any response
    path_prefix: str = "/v1/"
    seed: int = 0

    @classmethod
    def from_dict(cls, d: dict) -> "FaultConfig":
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        return cls(**d)


class Faults:
    def __init__(self, config: FaultConfig | None = None):
        self._lock = threading.Lock()
        self.config = config or FaultConfig()
        self._rng = random.Random(self.config.seed)
        self._once: list[dict] = []
        self.injected = {k: 0 for k in KINDS}

    def configure(self, config: FaultConfig | None = None, **settings):
        with self._lock:
            self.config = config or FaultConfig(**settings)
            self._rng = random.Random(self.config.seed)

    def clear(self):
        with self._lock:
            self.config = FaultConfig()
            self._once.clear()

    def inject(self, kind: str, count: int = 1, path_prefix: str = "/v1/", **params):
        """Fail the next ``count`` requests under ``path_prefix`` with ``kind``
        (params: status for "error", retry_after for "rate_limit", ms for "latency")."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {KINDS}")
        with self._lock:
            self._once.append({"kind": kind, "count": int(count), "path_prefix": path_prefix, **params})

    def decide(self, path: str) -> tuple[float, dict | None]:
        """(latency seconds, fault to apply or None) for a request to ``path``."""
        with self._lock:
            for f in self._once:
                if path.startswith(f["path_prefix"]) and f["count"] > 0:
                    f["count"] -= 1
                    if f["count"] == 0:
                        self._once.remove(f)
                    self.injected[f["kind"]] += 1
                    if f["kind"] == "latency":
                        return f.get("ms", 100) / 1000.0, None
                    return 0.0, f
            c = self.config
            if not path.startswith(c.path_prefix):
                return 0.0, None
            delay = (c.latency_ms + self._rng.random() * c.latency_jitter_ms) / 1000.0
            x = self._rng.random()
            for kind, rate, extra in (("reset", c.reset_rate, {}),
                                      ("error", c.error_rate, {"status": c.error_status}),
                                      ("rate_limit", c.rate_limit_rate, {"retry_after": c.retry_after}),
                                      ("truncate", c.truncate_rate, {}), ("malformed", c.malformed_rate, {})):
                if x < rate:
                    self.injected[kind] += 1
                    return delay, {"kind": kind, **extra}
                x -= rate
            return delay, None

    def snapshot(self) -> dict:
        with self._lock:
            return {"config": asdict(self.config), "pending": [dict(f) for f in self._once],
                    "injected": dict(self.injected)}
