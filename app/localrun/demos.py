"""What the local run adds to the Procfile: simulators, and demo workloads once the pools answer.

Each pipeline registers here: long-running demo processes (a simulator, the API)
and seeders (callables run once, after every pool answers, that enqueue a demo
workload through the same tasks operators use).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


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


def seed_analyses() -> str:
    from app.analysis.demo import seed_demo

    return seed_demo()


# Farcaster: a simulated Snapchain hub (200 fids, one block per second per shard); every
# process gets HUB_URLS pointing at it.
HUB_SIM_PORT, HUB_SIM_FIDS, HUB_SIM_SEED = 3381, 200, 1
FARCASTER_DEMO_ROOTS = (7, 21)


def seed_farcaster() -> str:
    """Index two roots and the simulated network's first client app (its users become roots)."""
    from simulators.hub.generator import NetworkConfig
    from simulators.hub.network import Network
    from tasks.farcaster import indexer

    app_fid = Network(NetworkConfig(seed=HUB_SIM_SEED, num_fids=HUB_SIM_FIDS)).plan.client_apps[0]
    ix = indexer()
    ix.add_client_app(app_fid)
    ix.enqueue.discover(app_fid)
    for root in FARCASTER_DEMO_ROOTS:
        ix.add_target(root, root=True)
    return (f"farcaster: indexing roots {', '.join(map(str, FARCASTER_DEMO_ROOTS))} and client app {app_fid} "
            f"from the hub simulator")


DEMO_PROCESSES: tuple[DemoProcess, ...] = (
    DemoProcess("hub-sim", f"python -m simulators.hub serve --port {HUB_SIM_PORT} --fids {HUB_SIM_FIDS} "
                           f"--seed {HUB_SIM_SEED} --block-rate 1",
                env={"HUB_URLS": f"http://127.0.0.1:{HUB_SIM_PORT}"}),
    # Local pages to analyse; the analysis worker may fetch 127.0.0.1 only in the demo.
    DemoProcess("analysis-pages", "switchyard analyze demo-pages",
                env={"ANALYSIS_ALLOW_PRIVATE_ADDRESSES": "true"}),
)

SEEDERS: tuple[Callable[[], str], ...] = (seed_canaries, seed_analyses, seed_farcaster)
