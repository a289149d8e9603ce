"""Read ahead on a Snapchain shard's event stream: while the poller checks, filters, parses and
stages one segment, a hub thread already fetches the pages after it, so a distant hub's
round trips overlap the work instead of adding to it.

The reader hands out events strictly in stream order from the poller's cursor. Events after
the last whole block of a segment stay buffered for the next one (the hub would send exactly
those again from the new cursor). A failed fetch is raised to the poller at the point where
that page would have come, after every page before it: the poller has committed only whole
blocks before it, so nothing is skipped and nothing is staged twice. Asked for a cursor it
is not positioned at, the reader starts over there; ``restart`` forgets what it read (a
refetch after a block count mismatch).
"""
from __future__ import annotations

import queue
import threading
from concurrent.futures import Future

from app.farcaster import inflight
from app.farcaster.hub_client import HubClient
from app.farcaster.messages import HubDataError


class ShardReader:
    def __init__(self, client: HubClient, shard: int, cursor: int, page_size: int, max_pages: int,
                 ahead: int = 4) -> None:
        self.client, self.shard, self.page_size, self.ahead = client, shard, page_size, max(1, ahead)
        self.budget = max_pages  # pages this reader may still fetch (the poll's bound)
        self._future: Future | None = None
        self._start(cursor)

    def _start(self, cursor: int) -> None:
        self.close()
        self.position = cursor  # the buffer holds every event fetched from here on
        self.buffer: list[dict] = []
        self.ended = False  # the stream's end was reached (a short page)
        self.exhausted = False  # the budget is spent: nothing more will come
        self._pages: queue.Queue = queue.Queue(self.ahead)
        self._stop = threading.Event()
        self._future = inflight.submit(self._fetch, cursor, self.budget, self._pages, self._stop)

    def _fetch(self, from_id: int, budget: int, pages: queue.Queue, stop: threading.Event) -> None:
        """On a hub thread: fetch pages one after the other (each starts after the previous
        one's last event) until the stream ends, the budget is spent, or the reader closes."""
        def put(item: tuple) -> bool:
            while not stop.is_set():
                try:
                    pages.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        for _ in range(budget):
            try:
                page = self.client.events(self.shard, from_id, self.page_size)["events"]
                if any(not isinstance(e, dict) or not isinstance(e.get("id"), int) for e in page):
                    raise HubDataError(f"/v1/events shard {self.shard}: event without an integer id")
            except BaseException as exc:  # noqa: BLE001 - raised to the poller in stream order
                put(("error", exc))
                return
            if not put(("page", page)):
                return
            if len(page) < self.page_size:
                return
            from_id = page[-1]["id"] + 1
        put(("budget", None))

    def take(self, cursor: int, pages: int) -> tuple[list[dict], bool, int]:
        """Every event from ``cursor`` the reader holds after up to ``pages`` more pages:
        (events, the stream ended, pages taken)."""
        if cursor != self.position:
            self._start(cursor)
        taken = 0
        while taken < pages and not (self.ended or self.exhausted):
            kind, payload = self._next()
            if kind == "error":
                self.close()
                raise payload
            if kind == "budget":
                self.exhausted = True
                break
            taken += 1
            self.budget -= 1
            self.buffer += payload
            self.ended = len(payload) < self.page_size
        return list(self.buffer), self.ended, taken

    def _next(self) -> tuple:
        while True:
            try:
                return self._pages.get(timeout=1)
            except queue.Empty:
                future = self._future
                if future is None or (future.done() and self._pages.empty()):
                    raise RuntimeError(f"shard {self.shard}: the stream reader stopped without a result") from None

    def restart(self, cursor: int) -> None:
        """Forget what was read and fetch again from ``cursor``."""
        self._start(cursor)

    def advance(self, cursor: int) -> None:
        """The events before ``cursor`` are staged: drop them, keep the rest for the next take."""
        self.buffer = [e for e in self.buffer if e["id"] >= cursor]
        self.position = cursor

    def close(self) -> None:
        if self._future is not None:
            self._stop.set()
            self._future.cancel()
            self._future = None
