"""Flower (started the way the Procfile does) shows every pool's worker online with its queues,
and serves the Switchyard dashboard pages on the same port."""
from __future__ import annotations

import os
import socket
import subprocess
import sys

import requests

from tests.conftest import ROOT, TEST_ENV
from tests.support import stop_process, wait_until
from workers.pools import POOLS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_flower_lists_every_pool_online_with_its_queues(database, worker_pools, tmp_path):
    workers = worker_pools.start(*[p.name for p in POOLS])
    port = free_port()
    env = {**os.environ, **TEST_ENV, "FLOWER_PORT": str(port), "FLOWER_UNAUTHENTICATED_API": "true"}
    log = tmp_path / "flower.log"
    flower = subprocess.Popen([sys.executable, "-m", "app.cli.main", "flower"], cwd=ROOT, env=env,
                              stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        def online() -> dict | None:
            assert flower.poll() is None, log.read_text()
            try:
                reply = requests.get(f"http://127.0.0.1:{port}/api/workers", params={"refresh": 1}, timeout=10)
            except requests.ConnectionError:
                return None
            data = reply.json() if reply.ok else {}
            return data if all(w.nodename in data for w in workers.values()) else None

        listed = wait_until(online, timeout=60, interval=0.5, message="Flower to list every pool's worker")
        for pool in POOLS:
            queues = {q["name"] for q in listed[workers[pool.name].nodename]["active_queues"]}
            assert queues == set(pool.queues)
            assert listed[workers[pool.name].nodename]["stats"]["pool"]["max-concurrency"] >= 1
        queues_page = requests.get(f"http://127.0.0.1:{port}/queues", timeout=10)
        assert queues_page.status_code == 200
        assert all(f'id="queue-{queue}"' in queues_page.text for pool in POOLS for queue in pool.queues)
    finally:
        stop_process(flower)
