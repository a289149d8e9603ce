"""The worker process's side of leases: its heartbeat thread and running work under a lease.

One heartbeat thread per process (prefork children each have their own, started on their
first lease); it renews the process's ``lease_owners`` row every LEASE_HEARTBEAT_SECONDS.
A killed process, a powered-off host or a host cut off from PostgreSQL stops renewing, so
its leases expire LEASE_TTL_SECONDS later and the sweep re-sends their work.
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import Engine

from app.platform import leases

log = logging.getLogger(__name__)

T = TypeVar("T")


class Heartbeat:
    def __init__(self, engine: Engine, hostname: str, *, interval: float, ttl: float) -> None:
        self.engine = engine
        self.hostname = hostname
        self.pid = os.getpid()
        self.owner = leases.owner_id(hostname, self.pid)
        self.interval = interval
        self.ttl = ttl
        self._stop = threading.Event()
        self._unreleased: list[leases.Held] = []  # releases that failed (database away): retried here
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="lease-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, *, retire: bool = True) -> None:
        self._stop.set()
        if retire:
            try:
                with self.engine.begin() as conn:
                    leases.retire_owner(conn, self.owner)
            except Exception:  # noqa: BLE001 - the ttl frees the leases anyway
                log.warning("could not retire lease owner %s", self.owner, exc_info=True)

    def beat(self) -> None:
        with self.engine.begin() as conn:
            leases.heartbeat(conn, self.owner, self.hostname, self.pid, self.ttl)
        with self._lock:
            pending, self._unreleased = self._unreleased, []
        for held in pending:
            self.release(held)

    def release(self, held: leases.Held) -> None:
        try:
            with self.engine.begin() as conn:
                if not leases.release(conn, held):
                    log.debug("lease %s %s epoch %s: already released (a retry) or taken over",
                              held.kind, held.key, held.epoch)
        except Exception:  # noqa: BLE001 - retried on the next beat; until then it looks running, but alive
            log.warning("could not release lease %s %s; retrying", held.kind, held.key, exc_info=True)
            with self._lock:
                self._unreleased.append(held)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.beat()
            except Exception:  # noqa: BLE001 - a database outage: keep trying; the leases may expire meanwhile
                log.warning("lease heartbeat of %s failed", self.owner, exc_info=True)


_heartbeat: Heartbeat | None = None
_heartbeat_lock = threading.Lock()


def process_heartbeat(engine: Engine, hostname: str) -> Heartbeat:
    """This process's heartbeat, started on first use (and again in a forked child)."""
    global _heartbeat
    with _heartbeat_lock:
        if _heartbeat is None or _heartbeat.pid != os.getpid() or _heartbeat.hostname != hostname:
            from app.settings import get_settings

            settings = get_settings()
            _heartbeat = Heartbeat(engine, hostname, interval=settings.lease_heartbeat_seconds,
                                   ttl=settings.lease_ttl_seconds)
            _heartbeat.start()
        return _heartbeat


def release_early(held: leases.Held) -> None:
    """Release a lease before its task returns (a retry about to be sent may start elsewhere at once)."""
    with _heartbeat_lock:
        heartbeat = _heartbeat
    if heartbeat is not None and heartbeat.pid == os.getpid() and heartbeat.owner == held.owner:
        heartbeat.release(held)


def stop_process_heartbeat() -> None:
    """The process exits on purpose: free its leases now."""
    global _heartbeat
    with _heartbeat_lock:
        if _heartbeat is not None and _heartbeat.pid == os.getpid():
            _heartbeat.stop()
        _heartbeat = None


@contextmanager
def leased(engine: Engine, heartbeat: Heartbeat, kind: str, key: str, work: leases.Work) -> Iterator[leases.Held | None]:
    """Run the block under the lease (kind, key); yields None when a live owner already holds it."""
    with engine.begin() as conn:
        leases.heartbeat(conn, heartbeat.owner, heartbeat.hostname, heartbeat.pid, heartbeat.ttl)
        held = leases.take(conn, kind, key, heartbeat.owner, work)
    if held is None:
        yield None
        return
    try:
        with leases.holding(held):
            yield held
    finally:
        heartbeat.release(held)


def run_leased(engine: Engine, heartbeat: Heartbeat, kind: str, key: str, work: leases.Work,
               body: Callable[[], T], on_duplicate: Callable[[], T], on_lost: Callable[[leases.LeaseLost], T]) -> T:
    with leased(engine, heartbeat, kind, key, work) as held:
        if held is None:
            return on_duplicate()
        try:
            return body()
        except leases.LeaseLost as exc:
            return on_lost(exc)
    raise AssertionError("unreachable")  # pragma: no cover
