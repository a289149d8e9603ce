"""Scale-out: backfill throughput with 1, 2 and 3 worker hosts, and the hub's rate limit across hosts.

Builds the multi-host harness of tests/multihost (network namespaces, private Redis and
PostgreSQL, the hub simulator on the bridge address; root and iproute2 needed), adds 50 ms to
every hub response and a generous request-rate limit, and backfills the same fids with the
backfill pool running on 1, then 2, then 3 hosts. Throughput (messages stored per second) is
printed as a ratio to one host; the goal is >= 0.8 x linear until the rate limit binds. Then
the limit is set low and all three hosts backfill together: the hub must see at most the limit
(plus the one-second burst) however many hosts ask.

    .venv/bin/python bench/scale_out.py --quick   # ~2-3 minutes on 2 cores
    .venv/bin/python bench/scale_out.py           # more fids per run
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from simulators.hub.faults import FaultConfig  # noqa: E402
from tests.multihost.cluster import Cluster  # noqa: E402
from tests.multihost.netns import unavailable  # noqa: E402
from tests.support import wait_until  # noqa: E402

LATENCY_MS = 50
GENEROUS_RATE = 2000  # requests/s across every host: far above what 3 hosts x 2 processes ask at 50 ms
TIGHT_RATE = 15


def backfill_run(cluster: Cluster, fids: int, timeout: float) -> tuple[float, int, int]:
    """Backfill fids 1..N once; returns (seconds, messages stored, hub requests)."""
    cluster.reset()
    requests_before = cluster.hub.requests
    started = time.monotonic()
    cluster.send(backfill_fids=f"1-{fids}")
    wait_until(lambda: cluster.scalar("SELECT count(*) FROM farcaster_backfill_requests WHERE state = 'done'") == fids,
               timeout=timeout, interval=0.2, message="every backfill to finish")
    seconds = time.monotonic() - started
    failed = cluster.scalar("SELECT count(*) FROM farcaster_backfill_requests WHERE state = 'failed'")
    if failed:
        raise SystemExit(f"{failed} backfills failed")
    messages = sum(cluster.scalar(f"SELECT count(*) FROM farcaster_{t}") for t in
                   ("casts", "reactions", "links", "verifications", "user_data"))
    return seconds, messages, cluster.hub.requests - requests_before


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer fids per run")
    parser.add_argument("--fids", type=int, default=None, help="fids backfilled per run (quick 24, full 90)")
    parser.add_argument("--concurrency", type=int, default=2, help="backfill processes per host")
    args = parser.parse_args(argv)
    reason = unavailable()
    if reason:
        print(f"scale_out: skipped: {reason}")
        return 0
    fids = args.fids or (24 if args.quick else 90)
    env = {"BACKFILL_CONCURRENCY": str(args.concurrency), "HUB_REQUESTS_PER_SECOND": str(GENEROUS_RATE),
           "HUB_PAGE_SIZE": "100"}
    with tempfile.TemporaryDirectory(prefix="switchyard-scale-out-") as workdir:
        cluster = Cluster(Path(workdir), hosts=3, pools=("backfill",), control_pools=("events",),
                          hub_kwargs={"num_fids": max(fids, 40), "seed": 3}, env=env, start_hosts=1)
        try:
            cluster.hub.faults.configure(FaultConfig(latency_ms=LATENCY_MS))
            print(f"scale_out: {fids} fids per run, hub +{LATENCY_MS} ms per response, "
                  f"{args.concurrency} backfill processes per host, limit {GENEROUS_RATE}/s")
            backfill_run(cluster, min(fids, 4), timeout=120)  # warm-up: imports, connections, hub caches
            results: dict[int, float] = {}
            for hosts in (1, 2, 3):
                if hosts > 1:
                    cluster.start_host(cluster.network.hosts[hosts - 1])
                    cluster.wait_for_workers(cluster.network.hosts[:hosts])
                seconds, messages, requests = backfill_run(cluster, fids, timeout=600)
                results[hosts] = messages / seconds
                print(f"  {hosts} host(s): {seconds:6.1f} s, {messages} messages, {requests} hub requests, "
                      f"{results[hosts]:8.0f} messages/s, {requests / seconds:6.1f} requests/s, "
                      f"ratio {results[hosts] / results[1]:.2f} (linear {hosts})")
            ratios = {h: results[h] / results[1] / h for h in results}
            print("  share of linear: " + ", ".join(f"{h} hosts {r:.2f}" for h, r in ratios.items()))

            # The limit holds across hosts: three hosts, a tight limit, the hub counts what it sees.
            for host in cluster.network.hosts:
                cluster.stop_host(host)
            for host in cluster.network.hosts:
                cluster.start_host(host, env={"HUB_REQUESTS_PER_SECOND": str(TIGHT_RATE)})
            cluster.wait_for_workers()
            seconds, messages, requests = backfill_run(cluster, min(fids, 12), timeout=600)
            rate = requests / seconds
            allowed = TIGHT_RATE + TIGHT_RATE / seconds  # the bucket starts full: one second of burst
            verdict = "holds" if rate <= allowed * 1.05 else "EXCEEDED"
            print(f"  rate limit {TIGHT_RATE}/s shared by 3 hosts: {requests} requests in {seconds:.1f} s = "
                  f"{rate:.1f}/s (allowed {allowed:.1f}/s): {verdict}")
        finally:
            cluster.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
