"""Benchmark: catalogue sync queued (supplier-sync -> product-family -> image-upload workers) vs direct (inline).

The Promidata simulator runs in its own process and adds --latency-ms to every request, as a
remote feed would. Both modes sync the same feed into a fresh schema of a bench database
(SWITCHYARD_BENCH_DATABASE, default switchyard_bench_catalogue; Redis db 10) and store images in
a temporary local directory. Wall time is from the start of the sync to its last image stored;
worker start-up is not counted.

    .venv/bin/python bench/catalogue_sync.py            # 5,000 families, ~20,000 images (direct alone ~25 min)
    .venv/bin/python bench/catalogue_sync.py --quick    # 300 families, ~1,200 images: a few minutes
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATABASE = os.environ.get("SWITCHYARD_BENCH_DATABASE", "switchyard_bench_catalogue")
REDIS_DB = int(os.environ.get("SWITCHYARD_BENCH_REDIS_DB", "10"))  # apart from the test suites' dbs
REDIS_SERVER = os.environ.get("SWITCHYARD_BENCH_REDIS", "redis://127.0.0.1:6379")  # or a private redis-server
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
POOLS = ("supplier-sync", "product-family", "image-upload")


def bench_env(storage_dir: str, args: argparse.Namespace) -> dict[str, str]:
    return {
        "DATABASE_URL": f"{PG_SERVER}/{DATABASE}",
        "REDIS_URL": f"{REDIS_SERVER}/{REDIS_DB}",
        "RESULT_BACKEND_URL": f"{REDIS_SERVER}/{REDIS_DB}",
        "CANARY_INTERVAL_SECONDS": "0",
        "SWITCHYARD_ENV_FILE": "/nonexistent/.env",
        "CATALOGUE_STORAGE_DIR": storage_dir,
        "PRODUCT_FAMILY_CONCURRENCY": str(args.family_concurrency),
        **({"IMAGE_UPLOAD_CONCURRENCY": str(args.image_concurrency)} if args.image_concurrency else {}),
        "LOG_LEVEL": "WARNING",
    }


def start_simulator(args: argparse.Namespace) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "simulators.promidata", "serve", "--port", "0", "--suppliers", str(args.suppliers),
         "--families", str(args.families // args.suppliers), "--images-per-family", str(args.images_per_family),
         "--latency-ms", str(args.latency_ms)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline() if process.stdout else ""
    match = re.search(r"IMPORT_URL=(\S+)", line)
    if not match:
        process.kill()
        raise SystemExit(f"simulator did not start: {line!r}")
    return process, match.group(1)


def fresh_database() -> None:
    from app.db.migrate import recreate_database

    recreate_database(f"{PG_SERVER}/{DATABASE}")


def truncate() -> None:
    from sqlalchemy import text

    from app.db import get_engine
    from app.db.models_registry import metadata

    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with get_engine().begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


def run_direct(import_url: str, storage_dir: str) -> tuple[float, list[dict]]:
    from app.catalogue import pipeline
    from app.catalogue.direct import run_direct as direct
    from app.catalogue.feed_client import FeedClient
    from app.catalogue.storage import LocalDirectoryStore
    from app.db import get_engine

    started = time.monotonic()
    results = direct(get_engine(), FeedClient(), LocalDirectoryStore(storage_dir), import_url=import_url,
                     limits=pipeline.Limits.from_settings())
    return time.monotonic() - started, results


def _with_env_overrides(argv: list[str], pool: str, env: dict[str, str]) -> list[str]:
    prefix = pool.upper().replace("-", "_")
    for option, name in (("--concurrency", "CONCURRENCY"), ("--prefetch-multiplier", "PREFETCH_MULTIPLIER")):
        if f"{prefix}_{name}" in env:
            argv[argv.index(option) + 1] = env[f"{prefix}_{name}"]
    return argv


def start_workers(env: dict[str, str], log_dir: str, image_pool: str | None = None) -> list[subprocess.Popen[bytes]]:
    from app.platform.celery_app import celery

    from workers.command import worker_argv
    from workers.pools import POOLS_BY_NAME

    workers = []
    for pool in POOLS:
        log = open(os.path.join(log_dir, f"{pool}.log"), "wb")
        definition = POOLS_BY_NAME[pool]
        if pool == "image-upload" and image_pool:  # compare pool types without editing workers/pools.py
            definition = replace(definition, pool_type=image_pool)
        argv = worker_argv(definition, loglevel="WARNING", celery=(sys.executable, "-m", "celery"))
        # Concurrency and prefetch come from the environment overrides, as `switchyard worker` applies them.
        argv = _with_env_overrides(argv, pool, {**os.environ, **env})
        workers.append(subprocess.Popen(argv, cwd=ROOT, env={**os.environ, **env}, stdout=log,
                                        stderr=subprocess.STDOUT))
    names = [f"{pool}@{socket.gethostname()}" for pool in POOLS]
    deadline = time.monotonic() + 90
    while len(celery.control.ping(destination=names, timeout=1.0)) < len(names):
        if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
            raise SystemExit(f"workers did not start; see {log_dir}")
    return workers


def run_queued(import_url: str, timeout: float) -> tuple[float, list[dict]]:
    from app.catalogue.status import recent_syncs
    from app.db import get_engine
    from tasks.catalogue import new_run_id, sync_all

    run_id = new_run_id()
    started = time.monotonic()
    sync_all.apply_async(kwargs={"import_url": import_url, "run_id": run_id})
    while True:
        syncs = recent_syncs(get_engine(), run_id=run_id, limit=100)
        if syncs and all(s["state"] in ("done", "aborted", "failed") for s in syncs) and \
                len(syncs) == len({s["supplier_code"] for s in syncs}) and _all_suppliers_seen(syncs):
            return time.monotonic() - started, syncs
        if time.monotonic() - started > timeout:
            raise SystemExit(f"queued run not finished after {timeout:g}s: {syncs}")
        time.sleep(0.5)


_expected_suppliers = 0


def _all_suppliers_seen(syncs: list[dict]) -> bool:
    return len(syncs) >= _expected_suppliers


def image_pool_label(args: argparse.Namespace) -> str:
    from workers.pools import POOLS_BY_NAME

    pool = POOLS_BY_NAME["image-upload"]
    return f"{args.image_concurrency or pool.concurrency} {args.image_pool or pool.pool_type}"


def summarise(mode: str, seconds: float, syncs: list[dict]) -> dict:
    families = sum(s["families_done"] for s in syncs)
    return {"mode": mode, "seconds": round(seconds, 1), "families": families,
            "families_failed": sum(s["families_failed"] for s in syncs),
            "images_uploaded": sum(s["images_uploaded"] for s in syncs),
            "families_per_s": round(families / seconds, 1) if seconds else None,
            "states": sorted({s["state"] for s in syncs})}


def main() -> int:
    global _expected_suppliers
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="300 families (~1,200 images)")
    parser.add_argument("--families", type=int, default=5000)
    parser.add_argument("--suppliers", type=int, default=3)
    parser.add_argument("--images-per-family", type=int, default=4)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--mode", choices=("both", "queued", "direct"), default="both")
    parser.add_argument("--family-concurrency", type=int, default=3, help="PRODUCT_FAMILY_CONCURRENCY")
    parser.add_argument("--image-concurrency", type=int, default=None,
                        help="IMAGE_UPLOAD_CONCURRENCY (default: workers/pools.py)")
    parser.add_argument("--image-pool", choices=("prefork", "threads"), default=None,
                        help="the image-upload pool type (default: workers/pools.py)")
    parser.add_argument("--timeout", type=float, default=3600, help="give up on the queued run after this")
    args = parser.parse_args()
    if args.quick:
        args.families = 300
    _expected_suppliers = args.suppliers

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the cleanup below (workers, simulator)
    storage_root = tempfile.mkdtemp(prefix="catalogue-bench-")
    env = bench_env(os.path.join(storage_root, "images"), args)
    os.environ.update(env)
    simulator, import_url = start_simulator(args)
    workers: list[subprocess.Popen[bytes]] = []
    results = []
    try:
        fresh_database()
        info = json.loads(subprocess.run(
            [sys.executable, "-m", "simulators.promidata", "info", "--suppliers", str(args.suppliers),
             "--families", str(args.families // args.suppliers), "--images-per-family",
             str(args.images_per_family)], cwd=ROOT, capture_output=True, text=True, check=True).stdout)
        print(f"feed: {info['families']} families, {info['variants']} variants, {info['images']} distinct images, "
              f"{args.latency_ms:g} ms per request", flush=True)
        if args.mode in ("both", "queued"):
            workers = start_workers(env, storage_root, args.image_pool)
            seconds, syncs = run_queued(import_url, args.timeout)
            results.append({**summarise("queued", seconds, syncs), "image_pool": image_pool_label(args)})
            print(json.dumps(results[-1]), flush=True)
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
            for worker in workers:
                worker.wait(30)
            workers = []
        if args.mode in ("both", "direct"):
            truncate()
            shutil.rmtree(os.path.join(storage_root, "images"), ignore_errors=True)
            seconds, syncs = run_direct(import_url, os.path.join(storage_root, "images"))
            results.append(summarise("direct", seconds, syncs))
            print(json.dumps(results[-1]), flush=True)
    finally:
        for worker in workers:
            worker.kill()
        simulator.send_signal(signal.SIGTERM)
        simulator.wait(10)
        shutil.rmtree(storage_root, ignore_errors=True)
    print("\n| mode | families | images uploaded | wall time (s) | families/s |\n|---|---|---|---|---|")
    for r in results:
        print(f"| {r['mode']} | {r['families']} | {r['images_uploaded']} | {r['seconds']} | {r['families_per_s']} |")
    if len(results) == 2:
        print(f"\nqueued is {results[1]['seconds'] / results[0]['seconds']:.1f}x faster than direct "
              f"({info['families']} families, {info['images']} images, {args.latency_ms:g} ms latency, "
              f"pools {args.family_concurrency}/{image_pool_label(args)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
