"""What the local run adds to the Procfile: simulators, and demo workloads once the pools answer.

Each pipeline registers here: long-running demo processes (a simulator, the API)
and seeders (callables run once, after every pool answers, that enqueue a demo
workload through the same tasks operators use).
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

from app.catalogue import demo as catalogue_demo
from app.farcaster import demo as farcaster_demo


@dataclass(frozen=True)
class DemoProcess:
    name: str
    command: str
    env: dict[str, str] = field(default_factory=dict)  # also exported to every other process


def seed_canaries() -> str:
    """Send one canary per queue: each pool proves it consumes."""
    from app.celery_app import celery
    from workers.pools import QUEUES

    for queue in QUEUES:
        celery.send_task(f"canary.{queue}")
    return f"sent a canary to each of {len(QUEUES)} queues"


def _seeder(module: str) -> Callable[[], str]:
    """A pipeline's `seed_demo`, imported only when the local run calls it."""

    def seed() -> str:
        return importlib.import_module(module).seed_demo()

    seed.__name__ = f"{module}.seed_demo"
    return seed


DEMO_PROCESSES: tuple[DemoProcess, ...] = (
    DemoProcess("hub-sim", farcaster_demo.HUB_SIM_COMMAND, env=farcaster_demo.HUB_SIM_ENV),
    # The default CATALOGUE_IMPORT_URL points at this feed simulator.
    DemoProcess("promidata-sim", catalogue_demo.DEMO_SIMULATOR_COMMAND),
    # Local pages to analyse; the analysis worker may fetch 127.0.0.1 only in the demo.
    DemoProcess("analysis-pages", "switchyard analyze demo-pages",
                env={"ANALYSIS_ALLOW_PRIVATE_ADDRESSES": "true"}),
)

SEEDERS: tuple[Callable[[], str], ...] = (
    seed_canaries,
    _seeder("app.farcaster.demo"),
    _seeder("app.catalogue.demo"),
    _seeder("app.analysis.demo"),
)
