"""A pipeline as one unit: everything the platform needs to know about it, in one object.

Each domain declares one ``Pipeline`` (app/<name>/wiring.py) and app/pipelines.py lists
them. The Celery app, the CLI, beat, the metrics endpoint, the models registry, the
deployment files and the local run iterate that list. Parts that import heavy code are
named as ``"module:attribute"`` and imported only when used, so declaring a pipeline
imports nothing but its settings class and pool definitions.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.platform.pool import Pool

BeatEntries = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class Process:
    """A long-running process that is not a pool (an API); `compose_command`/`ports` for containers."""

    name: str
    command: str
    compose_command: str | None = None
    ports: tuple[str, ...] = ()


@dataclass(frozen=True)
class DemoProcess:
    """A process only the local run starts (a simulator); `env` is exported to every other process."""

    name: str
    command: str
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Demo:
    processes: tuple[DemoProcess, ...] = ()
    seed: str | None = None  # "module:function() -> str": enqueues a demo workload once every pool answers


@dataclass(frozen=True)
class Pipeline:
    name: str
    task_modules: tuple[str, ...]  # under tasks/: the Celery wrappers, imported by every process
    pools: tuple[Pool, ...] = ()
    settings: type | None = None  # a pydantic-settings class; its fields join app.settings.Settings
    beat: Callable[[Any], BeatEntries] | None = None  # settings -> this pipeline's periodic tasks
    cli: tuple[str, ...] = ()  # "module:register": each adds subcommands to `switchyard`
    models: tuple[str, ...] = ()  # modules defining its SQLAlchemy models (Alembic, tests)
    metrics: str | None = None  # "module:Class": its business metrics (app.dashboard.business_metrics)
    services: str | None = None  # "module:function(Resources)": its services from the shared resources
    processes: tuple[Process, ...] = ()  # long-running processes of a deployment besides the pools
    demo: Demo | None = None

    def beat_entries(self, settings: Any) -> BeatEntries:
        return self.beat(settings) if self.beat is not None else {}

    def build_services(self, resources: Any) -> Any:
        if self.services is None:
            raise LookupError(f"pipeline {self.name} declares no services")
        return resolve(self.services)(resources)


def resolve(reference: str) -> Any:
    """The object a "module:attribute" reference names."""
    module, _, attribute = reference.partition(":")
    if not attribute:
        raise ValueError(f"{reference!r} is not a 'module:attribute' reference")
    return getattr(importlib.import_module(module), attribute)
