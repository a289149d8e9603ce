"""Run a simulator server in the foreground until SIGTERM or Ctrl-C (the CLIs' `serve`)."""
from __future__ import annotations

import signal
import threading
from typing import Protocol


class StoppableServer(Protocol):
    def stop(self) -> object: ...


def serve_until_stopped(server: StoppableServer) -> int:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    server.stop()
    return 0
