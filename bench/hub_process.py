"""The hub simulator in a process of its own, as the Farcaster benches run it: it stands in for a
remote hub yet shares the machine's cores, so its collector is tuned like a worker's."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sim(url: str, path: str, body: dict | None = None) -> dict:
    """A simulator endpoint's JSON (a POST when body is given)."""
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(urllib.request.Request(url + path, data=data), timeout=60) as r:
        return json.loads(r.read())


def start_hub(**network: Any) -> tuple[subprocess.Popen[bytes], str]:
    """Start `running_hub(**network)` on a free port; returns (process, base URL) once it answers."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    options = ", ".join(f"{k}={v!r}" for k, v in network.items())
    serve = (f"import time\nfrom app.platform import gc_tuning\nfrom simulators.hub.testing import running_hub\n"
             f"with running_hub(port={port}, {options}):\n    gc_tuning.tune_worker_process()\n"
             f"    time.sleep(10**9)\n")
    hub = subprocess.Popen([sys.executable, "-c", serve], cwd=ROOT, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    for _ in range(600):
        try:
            sim(url, "/_sim/status")
            return hub, url
        except OSError:
            if hub.poll() is not None:
                break
            time.sleep(0.1)  # the simulator builds its network first
    hub.kill()
    raise SystemExit(f"the hub simulator did not answer at {url}")
