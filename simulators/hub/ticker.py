"""Reveals blocks at a wall-clock rate (blocks per second per shard) in a background thread."""
from __future__ import annotations

import threading
import time


class Ticker:
    def __init__(self, network, blocks_per_second: float = 1.0):
        self.network = network
        self._rate = float(blocks_per_second)
        self._cond = threading.Condition()
        self._stop = False
        self._paused = False
        self._origin = time.monotonic()
        self._done = 0
        self._thread = threading.Thread(target=self._run, name="hub-sim-ticker", daemon=True)

    @property
    def rate(self) -> float:
        return 0.0 if self._paused else self._rate

    def start(self):
        self._thread.start()

    def stop(self):
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def set_rate(self, blocks_per_second: float):
        with self._cond:
            self._rate = float(blocks_per_second)
            self._origin, self._done = time.monotonic(), 0
            self._cond.notify_all()

    def pause(self, paused: bool = True):
        with self._cond:
            self._paused = paused
            self._origin, self._done = time.monotonic(), 0
            self._cond.notify_all()

    def _run(self):
        while True:
            with self._cond:
                if self._stop:
                    return
                rate = self.rate
                if rate <= 0:
                    self._cond.wait(0.5)
                    continue
                due = int((time.monotonic() - self._origin) * rate) - self._done
                if due <= 0:
                    self._cond.wait(max((self._done + 1) / rate - (time.monotonic() - self._origin), 0.001))
                    continue
            batch = min(due, max(1, int(rate // 20) or 1))   # catch up in slices, never a huge burst
            self.network.advance(batch)
            with self._cond:
                self._done += batch
