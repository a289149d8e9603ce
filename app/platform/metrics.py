"""Business metrics, one part per pipeline: the base class, and the platform's own part.

A part contributes its metric specs, its piece of the one PostgreSQL statement the
dashboard's collector runs per scrape (common table expressions and fields of one JSON
document), the metrics it makes from that document, and any other source it reads
(app.dashboard.business_metrics puts the parts of every pipeline together).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Protocol

from app.platform.jobs.models import JobState

# name, type ("gauge" or "counter"), label names, help
MetricSpec = tuple[str, str, tuple[str, ...], str]


class Families(Protocol):
    def add(self, name: str, labels: tuple | list, value: float) -> None: ...


Timed = Callable[[Families, str, Callable[[], Any]], Any]


class MetricsPart:
    METRICS: ClassVar[tuple[MetricSpec, ...]] = ()
    CTES: ClassVar[tuple[str, ...]] = ()  # "name AS (SELECT ...)", joined into the statement's WITH
    FIELDS: ClassVar[tuple[str, ...]] = ()  # "'key', (SELECT ...)", joined into json_build_object(...)

    def __init__(self, settings: Any, queues: tuple[str, ...]) -> None:
        self.settings = settings
        self.queues = queues

    @property
    def caught_up(self) -> bool:
        """False while the part still folds history in chunks (a failed read then shrinks them)."""
        return True

    def params(self) -> dict[str, Any]:
        return {}

    def after_read(self, failed: bool, catching_up: bool) -> None:
        """Called after every PostgreSQL read; ``catching_up``: some part is not caught up."""

    def emit(self, families: Families, data: dict[str, Any]) -> None:
        """Metrics from this scrape's JSON document."""

    def read_other_sources(self, families: Families, data: dict[str, Any] | None, timed: Timed) -> None:
        """Read other sources through ``timed(families, source, read)`` (which records their errors)."""

    def close(self) -> None:
        pass


class PlatformMetrics(MetricsPart):
    """Job records by queue and state (PostgreSQL) and messages waiting per queue (Redis)."""

    METRICS = (
        ("switchyard_jobs", "gauge", ("queue", "state"),
         "Job records by queue and Celery state (the jobs table; finished ones are pruned after the retention)."),
        ("switchyard_queue_waiting", "gauge", ("queue", "priority"),
         "Messages waiting in the Redis broker per queue and priority step (0 highest; kombu list queue[:step])."),
    )
    FIELDS = (
        """'jobs', (SELECT json_agg(json_build_object('queue', queue, 'state', state, 'n', n)) FROM (
        SELECT queue, state, count(*) AS n FROM jobs GROUP BY queue, state) j)""",
    )

    def __init__(self, settings: Any, queues: tuple[str, ...], *, redis_url: str | None = None,
                 redis_timeout_s: float = 1.0) -> None:
        super().__init__(settings, queues)
        self.redis_url = redis_url or settings.redis_url
        self.redis_timeout_s = redis_timeout_s
        self._redis: Any = None

    def emit(self, families: Families, data: dict[str, Any]) -> None:
        jobs = {(j["queue"] or "none", j["state"]): j["n"] for j in data.get("jobs") or ()}
        keys = dict.fromkeys([(q, s) for q in self.queues for s in JobState.ALL] + sorted(jobs))
        for key in keys:
            families.add("switchyard_jobs", key, jobs.get(key, 0))

    def read_other_sources(self, families: Families, data: dict[str, Any] | None, timed: Timed) -> None:
        waiting = timed(families, "redis", self._read_redis)
        if waiting is not None:
            for queue, steps in waiting.items():
                for step, n in steps.items():
                    families.add("switchyard_queue_waiting", (queue, step), n)

    def _read_redis(self) -> dict[str, dict[int, int]]:
        from app.platform.queues import waiting_by_priority_on

        if self._redis is None:
            import redis

            self._redis = redis.Redis.from_url(self.redis_url, socket_connect_timeout=self.redis_timeout_s,
                                               socket_timeout=self.redis_timeout_s)
        return waiting_by_priority_on(self._redis, self.queues)

    def close(self) -> None:
        if self._redis is not None:
            self._redis.close()
