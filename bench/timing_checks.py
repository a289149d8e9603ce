"""Wall-clock checks the tests leave out (their elapsed-time thresholds would be flaky on a busy
machine; the tests assert the same behaviour deterministically). Each line prints what was
timed, the bound, and ok/SLOW.

    .venv/bin/python bench/timing_checks.py                      # ~3 s: simulator, Redis, clients
    .venv/bin/python bench/timing_checks.py --database-url postgresql+psycopg://postgres@127.0.0.1/switchyard_test
                                                                 # also the locked-table scrape (a migrated database)
"""
from __future__ import annotations

import argparse
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("SWITCHYARD_ENV_FILE", "/nonexistent/.env")

results: list[bool] = []


def check(name: str, run: Callable[[], object], *, at_least: float | None = None, at_most: float | None = None) -> None:
    started = time.monotonic()
    run()
    elapsed = time.monotonic() - started
    ok = (at_least is None or elapsed >= at_least) and (at_most is None or elapsed <= at_most)
    bound = f">= {at_least:g} s" if at_least is not None else f"<= {at_most:g} s"
    print(f"{name:<60} {elapsed:7.3f} s  (want {bound})  {'ok' if ok else 'SLOW'}")
    results.append(ok)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _RateLimited(BaseHTTPRequestHandler):
    """429 with Retry-After: 1 on every other request, else a small JSON object."""

    count = 0

    def do_GET(self) -> None:  # noqa: N802
        _RateLimited.count += 1
        limited = _RateLimited.count % 2 == 1
        body = b"" if limited else b'{"ok":true}'
        self.send_response(429 if limited else 200)
        if limited:
            self.send_header("Retry-After", "1")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--redis-url", default=f"redis://127.0.0.1:6379/{os.environ.get('SWITCHYARD_TEST_REDIS_DB', '15')}")
    parser.add_argument("--database-url", help="a migrated database: also time a scrape against a locked table")
    args = parser.parse_args()

    import redis
    import requests

    from app.dashboard.business_metrics import _HubHeads
    from app.farcaster.hub_client import HubClient
    from app.farcaster.rate_limit import RateLimiter
    from simulators.hub.testing import running_hub

    with running_hub(num_fids=40, seed=3) as hub:
        hub.faults.inject("latency", ms=250)
        check("hub simulator: a 250 ms latency fault delays the answer",
              lambda: requests.get(hub.url + "/v1/info", timeout=5).raise_for_status(), at_least=0.25)

    client = redis.Redis.from_url(args.redis_url)
    client.delete("switchyard:bench:tokens")
    limiters = [RateLimiter(client, rate_per_second=40, key="switchyard:bench:tokens") for _ in range(3)]

    def sixty_requests() -> None:
        threads = [threading.Thread(target=lambda lim=lim: [lim.acquire() for _ in range(20)]) for lim in limiters]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    check("rate limiter: 60 requests from 3 clients at 40/s (1 s burst)", sixty_requests, at_least=0.45)
    client.delete("switchyard:bench:tokens")

    server = ThreadingHTTPServer(("127.0.0.1", 0), _RateLimited)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        hub_client = HubClient(f"http://127.0.0.1:{server.server_port}", attempts=3, backoff_max=5)
        check("hub client: a 429 with Retry-After: 1 is waited out", lambda: hub_client.get("/v1/info"), at_least=0.95)
    finally:
        server.shutdown()

    heads = _HubHeads(lambda: HubClient(f"http://127.0.0.1:{free_port()}", attempts=1, timeout=1),
                      cache_seconds=5, retry_after_failure=30)
    try:
        heads.heads()
    except Exception:  # noqa: BLE001 - the first scrape fails: nobody listens
        pass
    check("metrics: a scrape after a hub failure does not wait for the hub",
          lambda: _raises(heads.heads), at_most=0.5)

    if args.database_url:
        locked_table_scrape(args.database_url)
    print("all within bounds" if all(results) else "SOME CHECKS WERE SLOW (a busy machine, or a regression)")


def _raises(call: Callable[[], object]) -> None:
    try:
        call()
    except Exception:  # noqa: BLE001
        return
    raise AssertionError("expected a failure")


def locked_table_scrape(database_url: str) -> None:
    from prometheus_client import CollectorRegistry, generate_latest
    from sqlalchemy import create_engine, text

    from app.dashboard.business_metrics import install, uninstall

    registry = CollectorRegistry()
    install(registry, database_url=database_url, hub_client_factory=None, statement_timeout_ms=300)
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            conn.execute(text("LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE"))
            check("metrics: a scrape with the jobs table locked (300 ms statement timeout)",
                  lambda: generate_latest(registry), at_most=2)
            conn.rollback()
    finally:
        uninstall(registry)
        engine.dispose()


if __name__ == "__main__":
    main()
