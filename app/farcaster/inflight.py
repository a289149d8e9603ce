"""Hub requests in flight: one thread pool per worker process hides a distant hub's latency.

Hub calls wait on the network, not the CPU, so a process keeps many of them open at once:
the endpoints of a fid side by side, several fids at a time, the next page of a stream while
the current one is staged. The threads live as long as the process, and each keeps its own
keep-alive connection (HubClient's per-thread HTTPAdapter), so the connection pool is exactly
as large as the thread pool (HUB_CONCURRENCY) and no request pays a new TCP handshake.
Every request still takes a token from the shared Redis rate limit first.

Only hub I/O and parsing run on these threads; database writes stay on the calling thread.
"""
from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_owner_pid = 0


def threads() -> int:
    from app.settings import get_settings

    return get_settings().hub_concurrency


def executor() -> ThreadPoolExecutor:
    """This process's hub thread pool (made on first use, so a prefork child makes its own)."""
    global _executor, _owner_pid
    with _lock:
        if _executor is None or _owner_pid != os.getpid():
            _executor = ThreadPoolExecutor(threads(), thread_name_prefix="hub")
            _owner_pid = os.getpid()
        return _executor


def submit(fn: Callable[..., R], *args: object) -> Future[R]:
    return executor().submit(fn, *args)


def ordered_map(fn: Callable[[T], R], items: Iterable[T], in_flight: int | None = None) -> Iterator[R]:
    """``map(fn, items)`` on the hub threads, at most ``in_flight`` calls running ahead of the
    consumer; results (or their exceptions) come back in the order of ``items``."""
    limit = max(1, in_flight or threads())
    pending: deque[Future[R]] = deque()
    source = iter(items)
    try:
        for item in source:
            pending.append(submit(fn, item))
            if len(pending) >= limit:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:  # the consumer stopped early (or failed): drop what has not started
            future.cancel()
