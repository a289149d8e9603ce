"""Extensions for worker processes: fresh database connections after a fork, collector tuning."""
from __future__ import annotations

from typing import Any

from app.platform import gc_tuning
from app.platform.extensions import Extension


class FreshConnections(Extension):
    """Prefork children must not reuse the parent's PostgreSQL sockets."""

    name = "fresh connections"

    def worker_process_boot(self, **_: Any) -> None:
        from app.db.session import dispose_engines

        dispose_engines()


class LeaseRetirement(Extension):
    """A process leaving on purpose frees its leases now, not after LEASE_TTL_SECONDS."""

    name = "lease retirement"

    def worker_process_exit(self, **_: Any) -> None:
        from app.platform.lease_worker import stop_process_heartbeat

        stop_process_heartbeat()


class GcTuning(Extension):
    """The collector tuning of app.platform.gc_tuning, in the parent before it forks and in each child."""

    name = "gc tuning"

    def worker_boot(self, **_: Any) -> None:
        gc_tuning.tune_worker_process()

    def worker_process_boot(self, **_: Any) -> None:
        gc_tuning.tune_worker_process()  # freeze what the child built at start too
