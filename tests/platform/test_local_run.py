"""The README's first command: `switchyard up` runs everything, seeds every demo, stops on Ctrl-C."""
from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time

import requests

from tests.conftest import REDIS_SERVER, ROOT, TEST_ENV, TEST_REDIS_DB
from tests.support import wait_until

EXPECTED = (
    "database schema is up to date",
    "Flower dashboard: http://127.0.0.1:",
    "Farcaster read API: http://127.0.0.1:",
    "every pool is up (8/8)",
    "demo: sent a canary to each of 8 queues",
    "demo: farcaster: indexing roots",
    "demo: catalogue: sync of every supplier queued",
    "demo: queued 3 analyses",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_up_starts_every_process_seeds_the_demos_and_stops_cleanly_on_ctrl_c(database):
    flower_port, api_port = free_port(), free_port()
    # Its own Redis db: the session's test workers must not answer for the run's pools.
    env = {**os.environ, **TEST_ENV, "REDIS_URL": f"{REDIS_SERVER}/{TEST_REDIS_DB - 1}",
           "RESULT_BACKEND_URL": f"{REDIS_SERVER}/{TEST_REDIS_DB - 1}",
           "FLOWER_PORT": str(flower_port), "ANALYSIS_API_PORT": str(api_port)}
    up = subprocess.Popen([sys.executable, "-m", "app.cli.main", "up"], cwd=ROOT, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in up.stdout], daemon=True)
    reader.start()
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 150
        while not all(any(e in line for line in seen) for e in EXPECTED):
            assert time.monotonic() < deadline, "missing: " + repr(
                [e for e in EXPECTED if not any(e in line for line in seen)]) + "\n" + "".join(seen[-40:])
            assert up.poll() is None, "".join(seen[-60:])
            try:
                seen.append(lines.get(timeout=1))
            except queue.Empty:
                pass
        assert not any("failed" in line for line in seen if line.startswith("switchyard | demo")), "".join(seen)
        assert listening(flower_port) and listening(api_port)
        # The printed example request answers once the demo root is indexed.
        example = next(line for line in seen if "Farcaster read API:" in line).split("e.g. curl ", 1)[1].split()[0]
        assert example == f"http://127.0.0.1:{api_port}/v1/farcaster/users/7"
        http = requests.Session()
        http.trust_env = False  # no proxy for 127.0.0.1
        wait_until(lambda: http.get(example, timeout=5).status_code == 200, timeout=90,
                   message="the read API's example request to answer 200")
        assert http.get(example, timeout=5).json()["target"] is True
    finally:
        os.killpg(up.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground process group
        up.wait(60)
        reader.join(10)
        while not lines.empty():
            seen.append(lines.get())
    assert up.returncode in (0, 130)
    assert not listening(flower_port) and not listening(api_port)
    stopped = [line for line in seen if "stopped (rc=" in line]
    assert len(stopped) >= 10, "".join(seen[-40:])
