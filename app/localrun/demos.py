"""What the local run adds to the Procfile: each pipeline's demo processes (simulators), and its
seeder, run once after every pool answers, that enqueues a demo workload through the same tasks
operators use."""
from __future__ import annotations

from collections.abc import Callable, Sequence

from app import pipelines as registry
from app.platform.pipeline import Demo, DemoProcess, Pipeline, resolve


def _demos(pipelines: Sequence[Pipeline] | None) -> list[Demo]:
    return [p.demo for p in (registry.PIPELINES if pipelines is None else pipelines) if p.demo is not None]


def demo_processes(pipelines: Sequence[Pipeline] | None = None) -> tuple[DemoProcess, ...]:
    return tuple(process for demo in _demos(pipelines) for process in demo.processes)


def _seeder(reference: str) -> Callable[[], str]:
    """A pipeline's seeder, imported only when the local run calls it."""

    def seed() -> str:
        return resolve(reference)()

    seed.__name__ = reference.replace(":", ".")
    return seed


def seeders(pipelines: Sequence[Pipeline] | None = None) -> tuple[Callable[[], str], ...]:
    return tuple(_seeder(demo.seed) for demo in _demos(pipelines) if demo.seed)
