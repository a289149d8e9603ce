"""The local run's Farcaster demo: a simulated Snapchain hub, two roots and a client app.

The hub simulator (200 fids, one block per second per shard) runs as a demo process;
every process gets HUB_URLS pointing at it.
"""
from __future__ import annotations

HUB_SIM_PORT, HUB_SIM_FIDS, HUB_SIM_SEED = 3381, 200, 1
HUB_SIM_COMMAND = (f"python -m simulators.hub serve --port {HUB_SIM_PORT} --fids {HUB_SIM_FIDS} "
                   f"--seed {HUB_SIM_SEED} --block-rate 1")
HUB_SIM_ENV = {"HUB_URLS": f"http://127.0.0.1:{HUB_SIM_PORT}"}
DEMO_ROOTS = (7, 21)


def seed_demo() -> str:
    """Index two roots and the simulated network's first client app (its users become roots)."""
    from simulators.hub.generator import NetworkConfig
    from simulators.hub.network import Network
    from app.farcaster.services import indexer

    app_fid = Network(NetworkConfig(seed=HUB_SIM_SEED, num_fids=HUB_SIM_FIDS)).plan.client_apps[0]
    ix = indexer()
    ix.add_client_app(app_fid)
    ix.enqueue.discover(app_fid)
    for root in DEMO_ROOTS:
        ix.add_target(root, root=True)
    return f"farcaster: indexing roots {', '.join(map(str, DEMO_ROOTS))} and client app {app_fid} from the hub simulator"


def read_api_example(host: str, port: int) -> str:
    """The line the local run prints: where the read API is, and a request to try."""
    base = f"http://{host}:{port}/v1/farcaster"
    return (f"Farcaster read API: {base}/ (OpenAPI at http://{host}:{port}/docs), e.g. "
            f"curl {base}/users/{DEMO_ROOTS[0]} or curl '{base}/users/{DEMO_ROOTS[0]}/feed?limit=5'")
