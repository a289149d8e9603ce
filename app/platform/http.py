"""The outbound HTTP fetch policy every client shares: timeouts, attempts, jittered backoff,
Retry-After and byte caps.

Clients keep what is theirs (hub failover, the analysis SSRF guard, the feed's conditional
requests) and take from here how long to wait, how often to try and how much to read.
"""
from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

from tenacity import RetryCallState, Retrying, retry_base, stop_after_attempt

CHUNK_BYTES = 64 * 1024


class BodyTooLarge(ValueError):
    """A response body (declared or as read, decoded) exceeds its byte cap; it was never buffered whole."""

    def __init__(self, max_bytes: int, declared: int | None = None) -> None:
        self.max_bytes = max_bytes
        self.declared = declared
        size = f"{declared} bytes" if declared is not None else "the body"
        super().__init__(f"{size} exceeds the {max_bytes}-byte cap")


class BodyTooSlow(TimeoutError):
    """The whole download took longer than its deadline (a server trickling bytes)."""


def parse_retry_after(value: str | None, *, cap: float | None = None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP-date (a past date is 0).

    None when absent or unreadable (negative, not a number, not a date); at most ``cap`` when given.
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # an HTTP-date is always GMT
            when = when.replace(tzinfo=timezone.utc)
        seconds = max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())
    else:
        if not math.isfinite(seconds) or seconds < 0:
            return None
    return seconds if cap is None else min(seconds, cap)


def backoff_delay(attempt: int, *, initial: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds to wait after failed attempt ``attempt`` (1-based): uniform in [d/2, d],
    d = initial * 2^(attempt-1), at most ``cap``. The jitter spreads out retries of many callers."""
    ceiling = min(cap, initial * 2 ** max(0, attempt - 1))
    return (rng or random).uniform(ceiling / 2, ceiling)


@dataclass(frozen=True)
class FetchPolicy:
    """How one client talks to one kind of server."""

    connect_timeout: float = 5.0
    read_timeout: float = 10.0  # between bytes
    attempts: int = 3
    backoff_initial: float = 0.5
    backoff_max: float = 10.0  # also caps a server's Retry-After

    @property
    def timeout(self) -> tuple[float, float]:
        """requests' (connect, read) timeout."""
        return (self.connect_timeout, self.read_timeout)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """The wait after failed attempt ``attempt``: the backoff, or longer if the server asked (capped)."""
        delay = backoff_delay(attempt, initial=self.backoff_initial, cap=self.backoff_max)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.backoff_max))
        return delay

    def retrying(self, retry: retry_base, *, sleep: Callable[[float], None] = time.sleep) -> Retrying:
        """A tenacity loop of ``attempts`` tries; an exception's ``retry_after`` (seconds) is honoured."""
        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            return self.delay(state.attempt_number, getattr(exc, "retry_after", None))

        return Retrying(stop=stop_after_attempt(self.attempts), wait=wait, retry=retry, sleep=sleep, reraise=True)


def check_declared_length(headers: Mapping[str, str], max_bytes: int) -> None:
    """Refuse a response whose Content-Length is over the cap before reading any of it."""
    declared = headers.get("Content-Length") or ""
    if declared.isdigit() and int(declared) > max_bytes:
        raise BodyTooLarge(max_bytes, int(declared))


def read_body(response: Any, max_bytes: int, *, deadline: float | None = None) -> bytes:
    """The decoded body of a streamed requests response, at most ``max_bytes`` (BodyTooLarge past it).

    Counts decoded bytes, so a small gzip bomb is capped like a large body. ``deadline``
    (time.monotonic()) bounds the whole download: the read timeout only bounds each gap.
    """
    check_declared_length(response.headers, max_bytes)
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(CHUNK_BYTES):
        size += len(chunk)
        if size > max_bytes:
            raise BodyTooLarge(max_bytes)
        if deadline is not None and time.monotonic() > deadline:
            raise BodyTooSlow("the download took longer than its deadline")
        chunks.append(chunk)
    return b"".join(chunks)


def read_body_at_once(response: Any, max_bytes: int) -> bytes:
    """As read_body, in one read of the raw stream (cheaper for large JSON pages; urllib3's errors
    are not translated). A declared length of an uncompressed body bounds the read by itself; any
    other body is cut at the cap."""
    raw = response.raw
    # urllib3's parsed Content-Length and its own header dict (which answers `in` without the
    # KeyError a missing header costs in requests' dict): this runs once per hub request.
    declared = raw.length_remaining
    if declared is not None and "content-encoding" not in raw.headers:
        if declared > max_bytes:
            raise BodyTooLarge(max_bytes, declared)
        return raw.read(decode_content=True)
    check_declared_length(response.headers, max_bytes)
    content = raw.read(max_bytes + 1, decode_content=True)
    if len(content) > max_bytes:
        raise BodyTooLarge(max_bytes)
    return content
