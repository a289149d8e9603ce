"""Business metrics for Prometheus, served next to Flower's own at /metrics.

Flower's /metrics handler renders prometheus_client's default REGISTRY; ``install()`` adds one
custom collector to it, made of each pipeline's metrics part (its declaration's ``metrics``,
e.g. app/farcaster/metrics.py). Every scrape reads current values:

- PostgreSQL: one statement (one round trip, one snapshot) returning a JSON document, each
  part contributing its fields, on an
  autocommit connection with a short ``statement_timeout``, so a slow or locked database makes a
  scrape fail fast instead of hanging Flower (whose IOLoop renders /metrics synchronously);
- Redis: the broker's list lengths per queue and priority step, pipelined in one round trip;
- the hub (only when shard cursors exist): ``/v1/info`` for each shard's newest block, plus one
  single-event page per lagging shard for block timestamps; cached for a few seconds and left
  alone for a while after a failure.

A source that fails sets ``switchyard_metrics_scrape_error{source}`` to 1 and its metrics are left
out of that scrape (never reported as zero); the scrape itself always succeeds.

Two counters are kept incrementally so a scrape stays cheap as history grows:
``switchyard_farcaster_events_indexed_total`` (staged batches are folded into per-shard sums once
they are older than any poll transaction can be) and the catalogue per-supplier counters
(finished syncs are folded once). A new process folds the history in bounded chunks; until it is
through, those counters are left out rather than reported low.
"""
from __future__ import annotations

import inspect
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from app import pipelines as registry
from app.platform.metrics import MetricsPart, MetricSpec
from app.platform.pipeline import Pipeline, resolve

log = logging.getLogger(__name__)

SCRAPE_METRICS: tuple[MetricSpec, ...] = (
    ("switchyard_metrics_scrape_error", "gauge", ("source",),
     "1 if reading this source (postgresql, redis, hub) failed in this scrape: its metrics are left out."),
    ("switchyard_metrics_scrape_duration_seconds", "gauge", ("source",),
     "Time this scrape spent reading the source."),
)


def part_classes(pipelines: tuple[Pipeline, ...] | None = None) -> dict[str, type[MetricsPart]]:
    """{pipeline name: its metrics part class}, in pipeline order."""
    chosen = registry.PIPELINES if pipelines is None else pipelines
    return {p.name: resolve(p.metrics) for p in chosen if p.metrics is not None}


# name, type, labels, help. describe() yields these, so registering never touches a data source.
METRICS: tuple[MetricSpec, ...] = SCRAPE_METRICS + tuple(spec for cls in part_classes().values() for spec in cls.METRICS)


class _Families:
    """Metric families of one scrape, created on first use so absent data means an absent family."""

    def __init__(self, specs: dict[str, tuple[str, tuple[str, ...], str]]) -> None:
        self._specs = specs
        self._families: dict[str, Metric] = {}

    def add(self, name: str, labels: tuple | list, value: float) -> None:
        family = self._families.get(name)
        if family is None:
            kind, label_names, help_ = self._specs[name]
            cls = CounterMetricFamily if kind == "counter" else GaugeMetricFamily
            family = self._families[name] = cls(name, help_, labels=list(label_names))
        family.add_metric([str(v) for v in labels], float(value))  # type: ignore[attr-defined]

    def __iter__(self) -> Iterator[Metric]:
        return iter(self._families.values())


def statement(parts: list[MetricsPart]) -> str:
    """The one PostgreSQL statement of a scrape: every part's CTEs and fields in one JSON document."""
    ctes = [cte for part in parts for cte in part.CTES]
    fields = [field for part in parts for field in part.FIELDS]
    head = f"WITH {', '.join(ctes)}\n" if ctes else ""
    return head + "SELECT json_build_object(\n  " + ",\n  ".join(fields) + "\n)"


def _options_for(cls: type[MetricsPart], options: dict[str, Any]) -> dict[str, Any]:
    accepted = [name for name, p in inspect.signature(cls.__init__).parameters.items()
                if p.kind is inspect.Parameter.KEYWORD_ONLY]
    return {name: options.pop(name) for name in accepted if name in options}


# --- the collector ---------------------------------------------------------------------------

class BusinessMetricsCollector:
    """A prometheus_client collector: reads PostgreSQL, Redis and the hub on every collect().

    ``options`` go to the parts that take them (``redis_url``, ``hub_client_factory``,
    ``staged_chunk``, ``sync_chunk``, ...)."""

    def __init__(self, *, database_url: str | None = None, queues: tuple[str, ...] | None = None,
                 statement_timeout_ms: int = 2000, connect_timeout_s: int = 2,
                 pipelines: tuple[Pipeline, ...] | None = None, **options: Any) -> None:
        from app.settings import get_settings

        settings = get_settings()
        self.database_url = database_url or settings.database_url
        if queues is None:
            from workers.pools import QUEUES

            queues = QUEUES
        self.queues = tuple(queues)
        self.statement_timeout_ms = statement_timeout_ms
        self.connect_timeout_s = connect_timeout_s
        classes = part_classes(pipelines)
        self.parts: dict[str, MetricsPart] = {
            name: cls(settings, self.queues, **_options_for(cls, options)) for name, cls in classes.items()}
        if options:
            raise TypeError(f"no metrics part takes {', '.join(sorted(options))}")
        self._specs = {name: (kind, labels, help_) for name, kind, labels, help_ in
                       SCRAPE_METRICS + tuple(spec for cls in classes.values() for spec in cls.METRICS)}
        self._statement = statement(list(self.parts.values()))
        self._engine: Any = None
        self._lock = threading.Lock()
        self._failing: set[str] = set()

    def part(self, pipeline: str) -> Any:
        return self.parts[pipeline]

    # prometheus_client calls describe() at registration (instead of collect()): names only.
    def describe(self) -> Iterator[Metric]:
        for name, (kind, labels, help_) in self._specs.items():
            cls = CounterMetricFamily if kind == "counter" else GaugeMetricFamily
            yield cls(name, help_, labels=list(labels))

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            families = _Families(self._specs)
            data = self._timed(families, "postgresql", self._read_postgres)
            if data is not None:
                for part in self.parts.values():
                    part.emit(families, data)
            for part in self.parts.values():
                part.read_other_sources(families, data, self._timed)
        yield from families

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
        for part in self.parts.values():
            part.close()

    # --- sources --------------------------------------------------------------------------
    def _timed(self, families: Any, source: str, read: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        try:
            result = read()
        except Exception as exc:  # noqa: BLE001 - a failing source must never fail the scrape
            reason = getattr(exc, "orig", None) or exc  # SQLAlchemy's message repeats the whole statement
            (log.warning if source not in self._failing else log.debug)(
                "business metrics: reading %s failed: %s: %s", source, type(reason).__name__,
                (str(reason).strip().splitlines() or [""])[0][:300])
            self._failing.add(source)
            families.add("switchyard_metrics_scrape_error", (source,), 1)
            result = None
        else:
            if source in self._failing:
                log.info("business metrics: reading %s works again", source)
                self._failing.discard(source)
            families.add("switchyard_metrics_scrape_error", (source,), 0)
        families.add("switchyard_metrics_scrape_duration_seconds", (source,), time.perf_counter() - started)
        return result

    def _get_engine(self) -> Any:
        if self._engine is None:
            from sqlalchemy import create_engine

            self._engine = create_engine(
                self.database_url, pool_size=1, max_overflow=1, pool_pre_ping=False, pool_recycle=600,
                isolation_level="AUTOCOMMIT",  # one statement, one round trip, no BEGIN/COMMIT
                connect_args={"connect_timeout": self.connect_timeout_s,
                              "options": f"-c statement_timeout={int(self.statement_timeout_ms)}",
                              "application_name": "switchyard-metrics",
                              "prepare_threshold": None})  # plans made for each scrape's own watermarks
        return self._engine

    def _read_postgres(self) -> dict:
        from sqlalchemy import text

        params: dict[str, Any] = {}
        for part in self.parts.values():
            params.update(part.params())
        catching_up = not all(part.caught_up for part in self.parts.values())
        try:
            with self._get_engine().connect() as conn:
                data = conn.execute(text(self._statement), params).scalar_one()
        except Exception:
            for part in self.parts.values():
                part.after_read(failed=True, catching_up=catching_up)
            raise
        for part in self.parts.values():
            part.after_read(failed=False, catching_up=catching_up)
        return data


_installed: "weakref.WeakKeyDictionary[CollectorRegistry, BusinessMetricsCollector]" = weakref.WeakKeyDictionary()
_install_lock = threading.Lock()


def install(registry: CollectorRegistry = REGISTRY, **options: Any) -> BusinessMetricsCollector:
    """Register the business metrics collector in ``registry`` (Flower's: the default REGISTRY).

    Idempotent: a second call returns the collector already registered there (``options`` are
    then ignored). Registration reads nothing; each scrape does."""
    with _install_lock:
        collector = _installed.get(registry)
        if collector is None:
            collector = BusinessMetricsCollector(**options)
            registry.register(collector)
            _installed[registry] = collector
        return collector


def uninstall(registry: CollectorRegistry = REGISTRY) -> None:
    """Unregister the collector from ``registry`` (tests, a reconfigured dashboard)."""
    with _install_lock:
        collector = _installed.pop(registry, None)
        if collector is not None:
            registry.unregister(collector)
            collector.close()
