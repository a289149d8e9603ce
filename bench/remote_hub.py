"""Benchmark of the Farcaster indexer against a distant hub: the same work at 0 ms and at
``--latency-ms`` (default 50) of added hub latency, in one run, with the pools as deployed.

For each latency, on a fresh database and the same simulated network (the simulator's default
mix of fids: small histories, ~50 messages each):
- backfill: the same fids, as durable requests sent in tasks of FARCASTER_BACKFILL_FIDS_PER_TASK
  (what the indexer sends), run by as many worker processes as the backfill pool has
  (workers/pools.py, BACKFILL_CONCURRENCY applied), through the shared Redis rate limit;
- realtime catch-up: the same stream backlog from the same cursors, polled by the realtime
  pool's processes while the events pool's processes apply what is staged.
It prints messages/s, fids/s and events/s at each latency, the ratios, and the largest
worker process RSS (high-water mark).

    .venv/bin/python bench/remote_hub.py            # ~4 minutes
    .venv/bin/python bench/remote_hub.py --quick    # ~2 minutes
It uses its own database (switchyard_bench_remote_hub) and Redis db 12.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/switchyard_bench_remote_hub")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/12")
os.environ.setdefault("SWITCHYARD_ENV_FILE", "/nonexistent/.env")

from hub_process import sim, start_hub  # noqa: E402  - bench/, the script's folder
from sqlalchemy import text  # noqa: E402

from app.db import get_engine  # noqa: E402
from app.db.migrate import recreate_database  # noqa: E402
from app.farcaster import backfill, realtime  # noqa: E402
from app.farcaster.hub_client import HubClient  # noqa: E402
from app.farcaster.operations import Indexer  # noqa: E402
from app.farcaster.rate_limit import RateLimiter  # noqa: E402
from app.farcaster.target_cache import TargetCache  # noqa: E402
from app.settings import get_settings  # noqa: E402


class Collect:
    """The indexer's follow-up messages, kept in the process (the bench is the broker)."""

    def __init__(self) -> None:
        self.backfills: list[list[int]] = []

    def backfill(self, request_ids) -> None:
        self.backfills.append(list(request_ids))

    def apply_staged(self, batch_id) -> None:
        pass

    def reconcile(self, fid) -> None:
        pass

    def discover(self, app_fid) -> None:
        pass

    def scan_app_users(self, app_fid, chunk) -> None:
        pass

    def replay(self) -> None:
        pass


_INDEXER: Indexer | None = None


def _worker_init(hub_url: str, rate: float) -> None:
    """A worker process stand-in: its own engine, cache connection and hub client (with the
    shared Redis rate limit), the collector tuned, as in a Celery worker process."""
    global _INDEXER
    import redis

    from app.platform import gc_tuning
    from app.db.session import dispose_engines

    dispose_engines()
    gc_tuning.tune_worker_process()
    engine = get_engine()
    cache = redis.Redis.from_url(os.environ["REDIS_URL"])
    client = HubClient(hub_url, page_size=get_settings().hub_page_size, limiter=RateLimiter(cache, rate))
    _INDEXER = Indexer(engine, TargetCache(engine, cache), Collect(), client_factory=lambda: client)


def _backfill_task(request_ids: list[int]) -> tuple[int, int]:
    """The backfill_fids task's domain call: (fids, rows stored)."""
    r = _INDEXER.run_backfills(request_ids, write_batch_rows=get_settings().farcaster_write_batch_rows)
    return r["fids"], r["messages"] + r["onchain_events"] + r["username_proofs"]


def _poll(shard: int, queue) -> tuple[int, int]:
    s = get_settings()
    r = realtime.poll_shard(_INDEXER.engine, _INDEXER.client, _INDEXER.cache, shard, page_size=s.hub_page_size,
                            max_pages=s.realtime_max_pages_per_poll, on_staged=lambda ids: [queue.put(b) for b in ids])
    return r.events, r.relevant


def _apply(batch_id: int) -> None:
    _INDEXER.apply_staged(batch_id)


def _warm(_: int) -> int:
    time.sleep(0.2)
    return os.getpid()


def rss_peak_mb(pids) -> float:
    """The largest VmHWM (peak resident set) of these processes, in MB."""
    peak = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]))
        except OSError:
            pass
    return peak / 1024




def load_average(loadavg: str = "/proc/loadavg") -> str:
    try:
        with open(loadavg) as f:
            return f.read().split()[0]
    except OSError:
        return "?"


def prepare(url: str, fids: int, cursors: dict[int, int]) -> Indexer:
    """A fresh database: every fid a (non-root) target, the shard cursors at ``cursors``."""
    import redis

    recreate_database(os.environ["DATABASE_URL"])
    engine = get_engine()
    cache = redis.Redis.from_url(os.environ["REDIS_URL"])
    cache.flushdb()
    ix = Indexer(engine, TargetCache(engine, cache), Collect(), client_factory=lambda: HubClient(url))
    with engine.begin() as conn:
        conn.execute(text("""INSERT INTO farcaster_targets (fid, is_root, manual, manual_root, followed_by_root)
                             SELECT f, false, true, false, false FROM generate_series(1, :n) f"""), {"n": fids})
        for shard, cursor in cursors.items():
            conn.execute(text("INSERT INTO farcaster_shard_cursors (shard_index, next_event_id, hub_head_event_id) "
                              "VALUES (:s, :c, :c)"), {"s": shard, "c": cursor})
    ix.cache.rebuild()
    return ix


def run_phase(url: str, latency_ms: float, args, cursors: dict[int, int], sample: list[int]) -> dict:
    from app.db.session import dispose_engines

    pools = {name: get_settings().pool(name).concurrency for name in ("backfill", "realtime", "events")}
    ix = prepare(url, args.fids, cursors)
    dispose_engines()  # no connection of this process crosses into the workers' forks
    sim(url, "/_sim/faults", {"latency_ms": latency_ms})
    out: dict = {"latency_ms": latency_ms}
    try:
        # --- backfill: the durable requests, sent as the indexer sends them -----------------
        engine = get_engine()
        with engine.begin() as conn:
            requests = backfill.request_backfills(conn, sample, reason="bench")
        ix = Indexer(engine, ix.cache, Collect(), client_factory=ix.client_factory)
        ix.send_backfills(requests)
        tasks = ix.enqueue.backfills  # type: ignore[attr-defined]
        dispose_engines()
        with ProcessPoolExecutor(pools["backfill"], initializer=_worker_init, initargs=(url, args.rate)) as pool:
            pids = set(pool.map(_warm, range(2 * pools["backfill"])))
            started = time.perf_counter()
            done = list(pool.map(_backfill_task, tasks))
            seconds = time.perf_counter() - started
            out["backfill_rss_mb"] = rss_peak_mb(pids)
        out["fids"], out["messages"] = sum(d[0] for d in done), sum(d[1] for d in done)
        out["backfill_seconds"] = seconds
        with engine.connect() as conn:
            out["requests_done"] = conn.execute(text(
                "SELECT count(*) FROM farcaster_backfill_requests WHERE state = 'done'")).scalar()

        # --- realtime catch-up: the same backlog from the same cursors ----------------------
        staged = multiprocessing.Manager().Queue()
        events = relevant = 0
        dispose_engines()
        with ProcessPoolExecutor(pools["realtime"], initializer=_worker_init, initargs=(url, args.rate)) as pollers, \
                ProcessPoolExecutor(pools["events"], initializer=_worker_init, initargs=(url, args.rate)) as appliers:
            pids = set(appliers.map(_warm, range(2 * pools["events"]))) | set(pollers.map(_warm, range(2 * pools["realtime"])))
            applying = []

            def dispatch() -> None:  # the broker: staged batch ids -> the events pool
                while (batch_id := staged.get()) is not None:
                    applying.append(appliers.submit(_apply, batch_id))

            dispatcher = threading.Thread(target=dispatch)
            dispatcher.start()
            started = time.perf_counter()
            shards = sorted(cursors)
            while True:
                polled = list(pollers.map(_poll, shards, [staged] * len(shards)))
                events += sum(p[0] for p in polled)
                relevant += sum(p[1] for p in polled)
                if all(p[0] == 0 for p in polled):
                    break
            out["poll_seconds"] = time.perf_counter() - started
            staged.put(None)
            dispatcher.join()
            for future in applying:
                future.result()
            out["realtime_seconds"] = time.perf_counter() - started
            out["realtime_rss_mb"] = rss_peak_mb(pids)
        out["events"], out["relevant"] = events, relevant
    finally:
        sim(url, "/_sim/faults", {"latency_ms": 0})
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="less data: about 2 minutes")
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--rate", type=float, default=5000,
                        help="the shared hub rate limit (requests/s) every worker draws from (HUB_REQUESTS_PER_SECOND)")
    args = parser.parse_args()
    args.fids, backfill_fids, blocks, per_block = (1000, 600, 100, 200) if args.quick else (3000, 2000, 400, 200)

    hub, url = start_hub(num_fids=args.fids, seed=5, events_per_block=per_block)
    try:
        client = HubClient(url)
        info = client.info()
        cursors = {s: realtime.head_event_id(info, s) for s in realtime.stream_shards(info)}
        sim(url, f"/_sim/advance?blocks={blocks}")
        sample = list(range(1, backfill_fids + 1))
        # Warm the hub once (its first touch of a fid signs every message; of an event, renders it).
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda f: [list(client.paged(p, "messages", fid=f, **e)) for p, e in backfill.MESSAGE_ENDPOINTS],
                          sample))
        for shard, cursor in cursors.items():
            while page := client.events(shard, cursor)["events"]:
                cursor = page[-1]["id"] + 1
        load_before = load_average()
        phases = [run_phase(url, latency, args, cursors, sample) for latency in (0.0, args.latency_ms)]
        load_after = load_average()
    finally:
        hub.terminate()
        hub.wait()

    pools = {name: get_settings().pool(name) for name in ("backfill", "realtime", "events")}
    print(f"data: {args.fids} fids (the simulator's default mix), backfill of {backfill_fids} fids in tasks of "
          f"{get_settings().farcaster_backfill_fids_per_task}, {blocks} blocks x ~{per_block} events x {len(cursors)} "
          f"shards; pools: " + ", ".join(f"{n} {p.pool_type} x {p.concurrency}" for n, p in pools.items())
          + f"; HUB_CONCURRENCY {get_settings().hub_concurrency} per process; rate limit {args.rate:.0f}/s; "
          f"load average {load_before} -> {load_after}")
    for p in phases:
        p["msg_s"] = p["messages"] / p["backfill_seconds"]
        p["fids_s"] = p["fids"] / p["backfill_seconds"]
        p["events_s"] = p["events"] / p["realtime_seconds"]
        print(f"hub +{p['latency_ms']:.0f} ms: backfill {p['messages']} rows of {p['fids']} fids in "
              f"{p['backfill_seconds']:.2f}s = {p['msg_s']:,.0f} msg/s, {p['fids_s']:,.1f} fids/s "
              f"({p['requests_done']} requests done); realtime {p['events']} events ({p['relevant']} relevant) in "
              f"{p['realtime_seconds']:.2f}s = {p['events_s']:,.0f} events/s (read in {p['poll_seconds']:.2f}s); worker RSS peak: backfill "
              f"{p['backfill_rss_mb']:.0f} MB, realtime/events {p['realtime_rss_mb']:.0f} MB")
    near, far = phases
    print(f"ratios {far['latency_ms']:.0f} ms / 0 ms: backfill msg/s {far['msg_s'] / near['msg_s']:.2f}, "
          f"fids/s {far['fids_s'] / near['fids_s']:.2f}; realtime events/s {far['events_s'] / near['events_s']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
