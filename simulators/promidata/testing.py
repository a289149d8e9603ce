"""Test helper: ``running_promidata`` serves a simulated feed on an ephemeral 127.0.0.1 port."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

from .faults import Faults
from .model import FeedModel
from .server import PromidataServer


@contextlib.contextmanager
def running_promidata(model: FeedModel | None = None, *, port: int = 0, faults: Faults | None = None,
                      **model_kwargs: object) -> Iterator[PromidataServer]:
    """Yield a started server (``.import_url``, ``.model``, ``.faults``, ``.requests``).

    Pass a model or ``FeedModel`` kwargs (``families_per_supplier``, ``seed``, ``suppliers``...)."""
    server = PromidataServer(model or FeedModel(**model_kwargs), port=port, faults=faults)  # type: ignore[arg-type]
    server.start()
    try:
        yield server
    finally:
        server.stop()
