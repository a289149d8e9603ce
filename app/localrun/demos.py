"""What the local run adds to the Procfile: each pipeline's demo processes (simulators), and its
seeder, run once after every pool answers, that enqueues a demo workload through the same tasks
operators use."""
from __future__ import annotations

from collections.abc import Callable, Sequence

from app import pipelines as registry
from app.platform.pipeline import DemoProcess, Pipeline, resolve


def _with_demos(pipelines: Sequence[Pipeline] | None) -> list[Pipeline]:
    return [p for p in (registry.PIPELINES if pipelines is None else pipelines) if p.demo is not None]


def demo_processes(pipelines: Sequence[Pipeline] | None = None) -> tuple[DemoProcess, ...]:
    return tuple(process for pipeline in _with_demos(pipelines) for process in pipeline.demo.processes)


def _seeder(reference: str) -> Callable[[], str]:
    """A pipeline's seeder, imported only when the local run calls it."""

    def seed() -> str:
        return resolve(reference)()

    seed.__name__ = reference.replace(":", ".")
    return seed


def seeders(pipelines: Sequence[Pipeline] | None = None) -> tuple[Callable[[], str], ...]:
    return tuple(_seeder(pipeline.demo.seed) for pipeline in _with_demos(pipelines) if pipeline.demo.seed)
