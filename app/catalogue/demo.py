"""Local-run demo: the feed simulator as a process, and one queued "sync all" once the pools answer.

Declared in app/catalogue/wiring.py. The simulator listens where CATALOGUE_IMPORT_URL points by default (127.0.0.1:8781).
"""
from __future__ import annotations

import time

import requests

DEMO_SIMULATOR_COMMAND = "python -m simulators.promidata serve --port 8781 --suppliers 3 --families 20 --latency-ms 50"


def seed_demo(wait_seconds: float = 15) -> str:
    from app.catalogue.sync_runs import new_run_id
    from app.platform.resources import shared_resources

    resources = shared_resources()
    url = resources.settings.catalogue_import_url
    deadline = time.monotonic() + wait_seconds
    while True:  # the simulator starts alongside the pools; give it a moment
        try:
            requests.head(url, timeout=1)
            break
        except requests.RequestException:
            if time.monotonic() > deadline:
                return f"catalogue: no feed at {url}; start `{DEMO_SIMULATOR_COMMAND}`"
            time.sleep(0.5)
    run_id = new_run_id()
    resources.send_task("catalogue.sync_all", kwargs={"run_id": run_id})
    return f"catalogue: sync of every supplier queued ({run_id}); `switchyard catalogue status --run {run_id}`"
