"""Test helpers: ``running_hub`` starts a simulated hub on an ephemeral 127.0.0.1 port."""
from __future__ import annotations

import contextlib

from .network import Network
from .server import HubServer


@contextlib.contextmanager
def running_hub(network: Network | None = None, *, port: int = 0, block_rate: float = 0.0,
                hubble: bool = False, faults=None, revocation: str | None = None, **network_kwargs):
    """Yield a started ``HubServer`` (``.url``, ``.advance()``, ``.faults``, ``.ground_truth()``...).

    ``block_rate=0`` (default) reveals blocks only when the test calls ``advance``; pass a
    network or ``Network`` kwargs (``num_fids``, ``seed``, ``retention_seconds``, ...)."""
    hub = HubServer(network, port=port, block_rate=block_rate, hubble=hubble, faults=faults, revocation=revocation,
                    **network_kwargs)
    hub.start()
    try:
        yield hub
    finally:
        hub.stop()

