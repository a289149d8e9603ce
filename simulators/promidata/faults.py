"""Faults the simulator can inject: latency, error responses, malformed family files, bad Import.txt lines,
image bodies cut short under a 200."""
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
    junk_lines: int = 0  # malformed lines naming no supplier appended to Import.txt
    bad_hash_lines: dict[str, int] = field(default_factory=dict)  # supplier -> lines of its own with a broken hash
    duplicate_lines: set[str] = field(default_factory=set)  # family SKUs listed twice in Import.txt
    # Image bodies cut short under a 200 (Content-Length matching the short body, as a truncated object
    # on a CDN is served): file-name suffix -> how many next responses to cut (-1: every one)...
    truncate_images: dict[str, int] = field(default_factory=dict)
    truncate_rate: float = 0.0  # ...and this fraction of all image responses
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
                               "malformed", "junk_lines", "fail_next", "bad_hash_lines", "duplicate_lines",
                               "truncate_images", "truncate_rate"}:
                    raise KeyError(f"unknown fault {key!r}")
                if key in ("malformed", "duplicate_lines"):
                    value = set(value)  # type: ignore[arg-type]
                if key in ("bad_hash_lines", "truncate_images"):
                    value = {k: int(v) for k, v in dict(value).items()}  # type: ignore[call-overload]
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

    def cut_image(self, file_name: str) -> bool:
        """Whether this image response goes out truncated."""
        with self._lock:
            for suffix, remaining in self.truncate_images.items():
                if file_name.endswith(suffix) and remaining != 0:
                    if remaining > 0:
                        self.truncate_images[suffix] = remaining - 1
                    return True
            return bool(self.truncate_rate) and self._rng.random() < self.truncate_rate

    def to_dict(self) -> dict:
        return {"latency_seconds": self.latency_seconds, "error_rate": self.error_rate,
                "error_status": self.error_status, "retry_after_seconds": self.retry_after_seconds,
                "malformed": sorted(self.malformed), "junk_lines": self.junk_lines,
                "fail_next": self.fail_next, "bad_hash_lines": self.bad_hash_lines,
                "duplicate_lines": sorted(self.duplicate_lines), "truncate_images": self.truncate_images,
                "truncate_rate": self.truncate_rate}
