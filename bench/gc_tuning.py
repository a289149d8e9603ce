"""Benchmark of the worker processes' garbage-collector tuning (app/platform/gc_tuning.py).

A realtime poller's hot loop, in a process that has imported the Celery app (as a worker has):
decode 1,000-event hub pages (the simulator's /v1/events), keep the last two alive as a poll
segment does, and parse every event. Timed once with Python's default collector and once
tuned as the workers are, each in its own process, in the same run; it prints the CPU per page
of each and the ratio.

    .venv/bin/python bench/gc_tuning.py             # ~10 s
    .venv/bin/python bench/gc_tuning.py --pages 20
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("SWITCHYARD_ENV_FILE", "/nonexistent/.env")


def child(mode: str, path: str, pages: int) -> None:
    import orjson

    import app.platform.celery_app  # noqa: F401  - a worker's heap: Celery, SQLAlchemy, every task module
    from app.platform import gc_tuning
    from app.farcaster.batch import Batch

    if mode == "tuned":
        gc_tuning.tune_worker_process()
    with open(path, "rb") as f:
        body = f.read()
    held = []
    started = time.process_time()
    for _ in range(pages):
        page = orjson.loads(body)["events"]
        held = (held + [page])[-2:]  # a segment holds two pages until it is staged
        batch = Batch()
        for event in page:
            batch.add_event(event)
    print(json.dumps({"cpu_per_page": (time.process_time() - started) / pages, "events": len(held[-1])}))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PAGE_FILE"))
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.pages)
        return 0

    from app.farcaster.hub_client import HubClient
    from simulators.hub.testing import running_hub

    with running_hub(num_fids=300, seed=3, events_per_block=400) as hub, \
            tempfile.NamedTemporaryFile(suffix=".json") as page_file:
        hub.advance(blocks=5)
        body = HubClient(hub.url).events(1, 0, 1000)
        page_file.write(json.dumps(body).encode())
        page_file.flush()
        results = {}
        for mode in ("default", "tuned"):
            out = subprocess.run([sys.executable, __file__, "--pages", str(args.pages), "--child", mode, page_file.name],
                                 check=True, capture_output=True, text=True, cwd=ROOT).stdout
            results[mode] = json.loads(out.strip().splitlines()[-1])
    events = results["default"]["events"]
    for mode, r in results.items():
        print(f"{mode:8s} collector: {r['cpu_per_page'] * 1e3:6.1f} ms CPU per {events}-event page "
              f"(decode + parse), {r['cpu_per_page'] / events * 1e6:.1f} us per event")
    print(f"ratio default/tuned: {results['default']['cpu_per_page'] / results['tuned']['cpu_per_page']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
