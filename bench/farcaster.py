"""Benchmark of the Farcaster indexer against the hub simulator (a separate process).

In one run, on the same data, it measures
- backfill: messages/s of fetch + parse + batched writes for many fids (4 threads, like the
  backfill pool), next to a raw COPY of the very rows it wrote into the same tables;
- realtime catch-up: hub events/s of poll + relevance + staging + apply for a stream backlog
  (every fid a target, so nearly every event is applied), next to a raw COPY of its rows;
- latency: p50/p95 from a block being revealed (1 block/s per shard) to its rows being
  committed, polling every second.

    .venv/bin/python bench/farcaster.py            # ~2 minutes
    .venv/bin/python bench/farcaster.py --quick    # smaller data, ~30 s
It uses its own database (switchyard_bench_farcaster) and Redis db 13.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/switchyard_bench_farcaster")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")
os.environ.setdefault("SWITCHYARD_ENV_FILE", "/nonexistent/.env")

from sqlalchemy import create_engine, text  # noqa: E402

from app.db import get_engine  # noqa: E402
from app.db.migrate import upgrade  # noqa: E402
from app.farcaster import backfill, realtime  # noqa: E402
from app.farcaster.hub_client import HubClient  # noqa: E402
from app.farcaster.operations import Indexer  # noqa: E402
from app.farcaster.target_cache import TargetCache  # noqa: E402

MESSAGE_TABLES = ("farcaster_casts", "farcaster_cast_removes", "farcaster_reactions", "farcaster_links",
                  "farcaster_verifications", "farcaster_user_data", "farcaster_onchain_events",
                  "farcaster_username_proofs")


class Collect:
    def __init__(self) -> None:
        self.batches: list[int] = []

    def backfill(self, request_id, fid) -> None:
        pass

    def apply_staged(self, batch_id) -> None:
        self.batches.append(batch_id)

    def reconcile(self, fid) -> None:
        pass

    def discover(self, app_fid) -> None:
        pass


_INDEXER = None


def _applier_init() -> None:
    """An events-pool stand-in: its own engine and cache connection, like a worker process."""
    global _INDEXER
    import redis

    from app.db.session import dispose_engines

    dispose_engines()
    engine = get_engine()
    _INDEXER = Indexer(engine, TargetCache(engine, redis.Redis.from_url(os.environ["REDIS_URL"])), Collect())


def _apply(batch_id: int) -> dict:
    return _INDEXER.apply_staged(batch_id)


def _noop(_: int) -> None:
    time.sleep(0.2)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sim(url: str, path: str) -> dict:
    with urllib.request.urlopen(url + path, timeout=60) as r:
        return json.loads(r.read())


def fresh_database() -> None:
    url = os.environ["DATABASE_URL"]
    admin = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        name = url.rsplit("/", 1)[1]
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    upgrade(url)


def copy_ceiling(engine, since: float | None) -> tuple[float, int]:
    """Seconds for a raw COPY of the rows written (since ``since``) back into the same tables."""
    raw = engine.raw_connection()
    try:
        cur = raw.driver_connection.cursor()
        dumps, rows = {}, 0
        where = f"WHERE created_at >= to_timestamp({since})" if since else ""
        for table in MESSAGE_TABLES:
            buf = io.BytesIO()
            with cur.copy(f"COPY (SELECT * FROM {table} {where}) TO STDOUT") as copy:
                for chunk in copy:
                    buf.write(chunk)
            dumps[table] = buf.getvalue()
            rows += dumps[table].count(b"\n")
            cur.execute(f"DELETE FROM {table} {where}")
        raw.driver_connection.commit()
        started = time.perf_counter()
        for table, data in dumps.items():
            with cur.copy(f"COPY {table} FROM STDIN") as copy:
                copy.write(data)
        raw.driver_connection.commit()
        return time.perf_counter() - started, rows
    finally:
        raw.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    fids, backfill_fids, blocks, per_block = (1000, 150, 20, 300) if args.quick else (3000, 600, 60, 400)

    fresh_database()
    engine = get_engine()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # Histories of active accounts (the CLI's defaults are ~50 messages per fid): ~350 per fid.
    serve = (f"import time\nfrom simulators.hub.testing import running_hub\n"
             f"with running_hub(port={port}, num_fids={fids}, seed=3, events_per_block={per_block}, mean_casts=150, "
             f"mean_reactions=120, mean_follows=60):\n    time.sleep(10**9)\n")
    hub = subprocess.Popen([sys.executable, "-c", serve], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                sim(url, "/_sim/status")
                break
            except OSError:
                time.sleep(0.1)
        client = HubClient(url, page_size=1000)
        import redis

        cache_redis = redis.Redis.from_url(os.environ["REDIS_URL"])
        cache_redis.flushdb()
        work = Collect()
        ix = Indexer(engine, TargetCache(engine, cache_redis), work, client_factory=lambda: client)
        with engine.begin() as conn:  # every fid a (non-root) target: the stream is nearly all relevant
            conn.execute(text("""INSERT INTO farcaster_targets (fid, is_root, manual, manual_root, followed_by_root)
                                 SELECT f, false, true, false, false FROM generate_series(1, :n) f"""), {"n": fids})
        ix.cache.rebuild()
        realtime.ensure_cursors(engine, client)

        # --- backfill ---------------------------------------------------------------------
        sample = list(range(1, backfill_fids + 1))
        with ThreadPoolExecutor(8) as pool:  # warm the hub: its first touch of a fid signs every message
            list(pool.map(lambda f: [list(client.paged(p, "messages", fid=f, **e)) for p, e in backfill.MESSAGE_ENDPOINTS],
                          sample))
        started = time.perf_counter()
        with ThreadPoolExecutor(4) as pool:
            stats = list(pool.map(lambda f: backfill.fetch_and_store(engine, client, f), sample))
        backfill_seconds = time.perf_counter() - started
        backfill_messages = sum(s.messages + s.onchain_events + s.username_proofs for s in stats)
        copy_seconds, copy_rows = copy_ceiling(engine, None)
        backfill_rate, backfill_copy = backfill_messages / backfill_seconds, copy_rows / copy_seconds

        # --- realtime catch-up --------------------------------------------------------------
        def catch_up() -> tuple[int, int, float, float, int]:
            """Read a backlog of ``blocks`` blocks; (events, relevant, seconds, COPY seconds, rows)."""
            sim(url, f"/_sim/advance?blocks={blocks}")
            with engine.connect() as conn:
                cursors = dict(conn.execute(text("SELECT shard_index, next_event_id FROM farcaster_shard_cursors")).all())
            for shard, cursor in cursors.items():  # warm: the hub renders each event once
                while page := client.events(shard, cursor)["events"]:
                    cursor = page[-1]["id"] + 1
            phase_start = time.time()
            started = time.perf_counter()
            events = relevant = 0
            # As deployed: pollers (one per shard) and the events pool (2 worker processes) run
            # at the same time.
            with ThreadPoolExecutor(2) as pollers, ProcessPoolExecutor(2, initializer=_applier_init) as appliers:
                list(appliers.map(_noop, range(4)))  # start both before the clock matters
                started = time.perf_counter()
                applying = []
                while True:
                    polled = list(pollers.map(lambda s: realtime.poll_shard(engine, client, ix.cache, s), (1, 2)))
                    applying += [appliers.submit(_apply, b) for p in polled for b in p.staged_batch_ids]
                    events += sum(p.events for p in polled)
                    relevant += sum(p.relevant for p in polled)
                    if all(p.events == 0 for p in polled):
                        break
                for future in applying:
                    future.result()
            seconds = time.perf_counter() - started
            copy_seconds, rows = copy_ceiling(engine, phase_start)
            return events, relevant, seconds, copy_seconds, rows

        events, relevant, realtime_seconds, rt_copy_seconds, rt_rows = catch_up()
        realtime_rate, realtime_copy = events / realtime_seconds, events / rt_copy_seconds
        # Typical: targets are a small part of the network (here every 10th fid).
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM farcaster_targets WHERE fid % 10 <> 0"))
        ix.cache.rebuild()
        events10, relevant10, seconds10, copy10, rows10 = catch_up()
        # --- latency at 1 s polling -----------------------------------------------------------
        # 0.97 blocks/s against a 1 s poll: the phase between reveal and poll sweeps the whole
        # second during the run (two exact 1 s clocks would lock to one arbitrary phase).
        sim(url, "/_sim/rate?blocks_per_second=0.97&events_per_block=50")
        revealed: dict[tuple[int, int], float] = {}
        stop = threading.Event()

        def watch() -> None:
            while not stop.is_set():
                info = client.info()
                now = time.time()
                for s in info["shardInfos"]:
                    revealed.setdefault((s["shardId"], s["maxHeight"]), now)
                time.sleep(0.005)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        latencies: list[float] = []
        deadline = time.time() + (12 if args.quick else 40)
        while time.time() < deadline:
            tick = time.time()
            for shard in (1, 2):
                result = realtime.poll_shard(engine, client, ix.cache, shard)
                for batch_id in result.staged_batch_ids:
                    ix.apply_staged(batch_id)
                    committed = time.time()
                    with engine.connect() as conn:
                        ids = conn.execute(text("SELECT jsonb_path_query(events::jsonb, '$[*].blockNumber')::bigint "
                                                "FROM farcaster_staged_batches WHERE id = :i"), {"i": batch_id}).scalars()
                        for block in set(ids):
                            if (shard, block) in revealed:
                                latencies.append(committed - revealed[(shard, block)])
            time.sleep(max(0.0, 1.0 - (time.time() - tick)))
        stop.set()
        sim(url, "/_sim/rate?blocks_per_second=0")
        latencies.sort()
        p50 = statistics.median(latencies)
        p95 = latencies[int(len(latencies) * 0.95) - 1]

        print(f"data: {fids} fids, backfill of {backfill_fids} fids, {blocks} blocks x ~{per_block} events x 2 shards")
        print(f"backfill:   {backfill_messages} messages in {backfill_seconds:.2f}s = {backfill_rate:,.0f} messages/s; "
              f"raw COPY of the same {copy_rows} rows: {backfill_copy:,.0f} rows/s; ratio {backfill_rate / backfill_copy:.2f}")
        print(f"realtime:   {events} events ({relevant} relevant) in {realtime_seconds:.2f}s = {realtime_rate:,.0f} events/s; "
              f"raw COPY of its {rt_rows} rows: {realtime_copy:,.0f} events/s; ratio {realtime_rate / realtime_copy:.2f}")
        print(f"realtime, 10% of fids targets: {events10} events ({relevant10} relevant) in {seconds10:.2f}s = "
              f"{events10 / seconds10:,.0f} events/s; raw COPY of its {rows10} rows: {events10 / copy10:,.0f} events/s; "
              f"ratio {copy10 / seconds10:.2f}")
        print(f"latency:    block revealed -> rows committed at 1 s polling, {len(latencies)} blocks: "
              f"p50 {p50:.3f}s, p95 {p95:.3f}s")
    finally:
        hub.terminate()
        hub.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
