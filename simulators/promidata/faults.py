"""Faults the simulator can inject: latency, error responses, malformed family files, junk lines."""
from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field


@dataclass
class Faults:
    latency_seconds: float = 0.0  # added to every feed request, as a remote feed would
    error_rate: float = 0.0  # fraction of feed requests answered with error_status
    error_status: int = 503
    retry_after_seconds: float = 1.0  # sent with every 429
    malformed: set[str] = field(default_factory=set)  # family SKUs served as broken JSON
    junk_lines: int = 0  # malformed lines appended to Import.txt
    # Scripted responses: a path suffix -> statuses to answer the next requests with, in order.
    fail_next: dict[str, list[int]] = field(default_factory=dict)
    seed: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(self.seed)

    def update(self, **changes: object) -> None:
        with self._lock:
            for key, value in changes.items():
                if key not in {"latency_seconds", "error_rate", "error_status", "retry_after_seconds",
                               "malformed", "junk_lines", "fail_next"}:
                    raise KeyError(f"unknown fault {key!r}")
                if key == "malformed":
                    value = set(value)  # type: ignore[arg-type]
                if key == "fail_next":
                    value = {k: list(v) for k, v in dict(value).items()}  # type: ignore[call-overload]
                setattr(self, key, value)

    def scripted_status(self, path: str) -> int | None:
        with self._lock:
            for suffix, statuses in self.fail_next.items():
                if path.endswith(suffix) and statuses:
                    return statuses.pop(0)
            if self.error_rate and self._rng.random() < self.error_rate:
                return self.error_status
        return None

    def to_dict(self) -> dict:
        return {"latency_seconds": self.latency_seconds, "error_rate": self.error_rate,
                "error_status": self.error_status, "retry_after_seconds": self.retry_after_seconds,
                "malformed": sorted(self.malformed), "junk_lines": self.junk_lines,
                "fail_next": self.fail_next}
