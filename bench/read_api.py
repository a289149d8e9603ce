"""Benchmark of the Farcaster read API over HTTP, on data loaded with COPY into its own database.

At --scale 1 (the issue's size): 100,000 fids, 10 M casts, 20 M reactions, and one user
following 1,000 fids. Smaller scales shrink every count but that user's 1,000 follows (capped
by the fids there are). The API runs as `switchyard api` does (one uvicorn process, no
response cache, no rate limit) and 8 client threads measure, per endpoint:
feed page, cast with counts, profile, search, and a user's casts (p50 / p95 / p99).

    .venv/bin/python bench/read_api.py --scale 0.01     # ~1 minute
    .venv/bin/python bench/read_api.py --scale 0.1      # ~1 M casts, several minutes
It uses its own database (switchyard_bench_read_api, recreated each run) and Redis db 13.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import itertools
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/switchyard_bench_read_api")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")
os.environ.setdefault("SWITCHYARD_ENV_FILE", "/nonexistent/.env")

import requests  # noqa: E402
from sqlalchemy import text  # noqa: E402

from app.db import get_engine  # noqa: E402
from app.db.migrate import recreate_database  # noqa: E402
from app.farcaster.read_api.counters import recount  # noqa: E402

FULL = {"fids": 100_000, "casts": 10_000_000, "reactions": 20_000_000}
FEED_USER, FEED_FOLLOWS = 1, 1000
OTHER_FOLLOWS = 20  # every other fid follows this many
CLIENTS = 8
NOW = datetime(2026, 12, 1, tzinfo=UTC)
SPAN = timedelta(days=60)
CHANNELS = [f"https://warpcast.com/~/channel/c{i}" for i in range(50)]
COUNTER_TRIGGERS = [(t, f"{t}_count_{e}") for t in ("farcaster_casts", "farcaster_reactions", "farcaster_links")
                    for e in ("insert", "update")]


def words(n: int, rng: random.Random) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(4, 9))) for _ in range(n)]


def h(kind: int, i: int) -> bytes:
    """A distinct 20-byte hash per (kind, index)."""
    return hashlib.blake2b(i.to_bytes(8, "big"), digest_size=20, person=kind.to_bytes(1, "big")).digest()


def pg_bytea(b: bytes) -> str:
    return "\\\\x" + b.hex()


def copy_rows(cur, table: str, columns: str, lines) -> None:  # type: ignore[no-untyped-def]
    """COPY text-format lines, written in large chunks."""
    with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        buf = io.StringIO()
        for n, line in enumerate(lines, 1):
            buf.write(line)
            if n % 20000 == 0:
                copy.write(buf.getvalue())
                buf = io.StringIO()
        copy.write(buf.getvalue())


def load(scale: float, seed: int) -> dict:
    fids = max(int(FULL["fids"] * scale), 50)
    casts = int(FULL["casts"] * scale)
    reactions = int(FULL["reactions"] * scale)
    follows = min(FEED_FOLLOWS, fids - 1)
    rng = random.Random(seed)
    vocab = words(20000, rng)
    # Zipf-like popularity: low indexes are drawn far more often (authors, targets, words).
    cum_weights = list(itertools.accumulate(1 / (i + 1) ** 0.8 for i in range(len(vocab))))
    ts_span = int(SPAN.total_seconds() * 1e6)
    engine = get_engine()
    raw = engine.raw_connection()
    started = time.perf_counter()
    try:
        cur = raw.driver_connection.cursor()
        for table, trigger in COUNTER_TRIGGERS:  # one recount after the load instead
            cur.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
        base = "hash, fid, timestamp, signer"
        signer = pg_bytea(b"\x01" * 32)

        def ts(i: int, n: int) -> str:  # rows spread over SPAN, in index order, jittered
            return (NOW - SPAN + timedelta(microseconds=(i * ts_span) // max(n, 1) + rng.randrange(10**6))).isoformat()

        copy_rows(cur, "farcaster_targets", "fid, is_root, manual, manual_root, followed_by_root",
                  (f"{f}\tt\tt\tt\tf\n" for f in range(1, fids + 1)))
        copy_rows(cur, "farcaster_profiles", "fid, username, display_name, pfp_url, bio, other",
                  (f"{f}\tuser{f}\tUser {f}\thttps://i.example/{f}.png\tbio of {f}\t{{}}\n" for f in range(1, fids + 1)))

        def author() -> int:
            return min(int(rng.paretovariate(1.2)), fids)

        def cast_lines():  # type: ignore[no-untyped-def]
            for i in range(casts):
                text_words = rng.choices(vocab, cum_weights=cum_weights, k=rng.randint(3, 18))
                reply = i > 100 and rng.random() < 0.25
                parent = rng.randrange(max(i - 50_000, 0), i) if reply else None
                url = rng.choice(CHANNELS) if not reply and rng.random() < 0.1 else None
                fid = author() if rng.random() < 0.5 else rng.randint(1, fids)
                yield (f"{pg_bytea(h(1, i))}\t{fid}\t{ts(i, casts)}\t{signer}\t{' '.join(text_words)}\tCAST\t"
                       f"{rng.randint(1, fids) if reply else chr(92) + 'N'}\t"
                       f"{pg_bytea(h(1, parent)) if reply else chr(92) + 'N'}\t{url or chr(92) + 'N'}\t{{}}\t{{}}\t[]\n")

        copy_rows(cur, "farcaster_casts", f"{base}, text, cast_type, parent_fid, parent_hash, parent_url, mentions, "
                                          "mentions_positions, embeds", cast_lines())

        def reaction_lines():  # type: ignore[no-untyped-def]
            for i in range(reactions):
                target = casts - 1 - min(int(rng.paretovariate(0.9)) - 1, casts - 1)  # recent casts are popular
                yield (f"{pg_bytea(h(2, i))}\t{rng.randint(1, fids)}\t{ts(i, reactions)}\t{signer}\t3\t"
                       f"{1 if rng.random() < 0.8 else 2}\t{rng.randint(1, fids)}\t{pg_bytea(h(1, target))}\t\\N\n")

        copy_rows(cur, "farcaster_reactions", f"{base}, message_type, reaction_type, target_cast_fid, "
                                              "target_cast_hash, target_url", reaction_lines())

        def link_lines():  # type: ignore[no-untyped-def]
            n = 0
            followed = rng.sample(range(2, fids + 1), follows)
            for target in followed:
                n += 1
                yield f"{pg_bytea(h(3, n))}\t{FEED_USER}\t{ts(n, fids)}\t{signer}\t5\tfollow\t{target}\t\\N\n"
            for f in range(2, fids + 1):
                for target in {author() for _ in range(OTHER_FOLLOWS)} - {f}:
                    n += 1
                    yield f"{pg_bytea(h(3, n))}\t{f}\t{ts(f, fids)}\t{signer}\t5\tfollow\t{target}\t\\N\n"

        copy_rows(cur, "farcaster_links", f"{base}, message_type, link_type, target_fid, display_timestamp",
                  link_lines())
        for table, trigger in COUNTER_TRIGGERS:
            cur.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
        raw.driver_connection.commit()
    finally:
        raw.close()
    loaded = time.perf_counter() - started
    with engine.begin() as conn:
        recount(conn)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    return {"fids": fids, "casts": casts, "reactions": reactions, "feed_follows": follows, "vocab": vocab,
            "load_seconds": loaded, "prepared_seconds": time.perf_counter() - started}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure(base: str, paths: list[str], clients: int = CLIENTS) -> list[float]:
    """Latencies (s) of GETs of ``paths`` by ``clients`` threads, each with its own session."""
    local = threading.local()

    def get(path: str) -> float:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
            session.trust_env = False
        started = time.perf_counter()
        response = session.get(base + path, timeout=30)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code} {response.text[:200]}")
        return elapsed

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(get, paths[: clients * 2]))  # warm connections and plans
        return list(pool.map(get, paths))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=0.01, help="1 = 10 M casts, 20 M reactions, 100,000 fids")
    parser.add_argument("--requests", type=int, default=400, help="requests per endpoint")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not 0 < args.scale <= 1:
        parser.error("--scale must be in (0, 1]")

    recreate_database(os.environ["DATABASE_URL"])
    data = load(args.scale, args.seed)
    print(f"data (scale {args.scale}): {data['fids']:,} fids, {data['casts']:,} casts, {data['reactions']:,} reactions; "
          f"fid {FEED_USER} follows {data['feed_follows']:,}; COPY {data['load_seconds']:.0f}s, "
          f"with recount and VACUUM ANALYZE {data['prepared_seconds']:.0f}s", flush=True)

    port = free_port()
    env = {**os.environ, "FARCASTER_API_CACHE_TTL_SECONDS": "0", "FARCASTER_API_RATE_LIMIT_PER_MINUTE": "0",
           "DATABASE_POOL_SIZE": str(CLIENTS), "LOG_LEVEL": "WARNING"}
    server = subprocess.Popen([sys.executable, "-m", "app.cli.main", "api", "--port", str(port)], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/v1/farcaster"
    try:
        for _ in range(300):
            try:
                requests.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        rng = random.Random(args.seed + 1)
        n = args.requests
        hot_casts = [h(1, data["casts"] - 1 - int(rng.paretovariate(0.9)) % data["casts"]) for _ in range(n)]
        feed = requests.get(f"{base}/users/{FEED_USER}/feed?limit=25", timeout=30).json()
        cursors = [None, feed["next_cursor"]]
        mid_words = data["vocab"][200:5000]  # middling frequency: ~2,000 to ~150 hits per million casts
        endpoints = {
            "feed page (25, following 1,000)": [f"/users/{FEED_USER}/feed?limit=25"
                                                + (f"&cursor={c}" if c else "") for c in cursors] * (n // 2),
            "cast with counts": [f"/casts/0x{c.hex()}" for c in hot_casts],
            "profile": [f"/users/{rng.randint(1, data['fids'])}" for _ in range(n)],
            "search (25 ranked)": [f"/search/casts?q={rng.choice(mid_words)}" for _ in range(n)],
            "user casts page": [f"/users/{rng.randint(1, 100)}/casts" for _ in range(n)],
        }
        print(f"HTTP, {CLIENTS} concurrent clients, {n} requests per endpoint (one uvicorn process, no response cache):")
        for name, paths in endpoints.items():
            latencies = measure(base, paths)
            alone = measure(base, paths[:60], clients=1)
            print(f"  {name:34s} p50 {statistics.median(latencies) * 1000:7.1f} ms   "
                  f"p95 {pct(latencies, 0.95) * 1000:7.1f} ms   p99 {pct(latencies, 0.99) * 1000:7.1f} ms   "
                  f"(one client: p50 {statistics.median(alone) * 1000:.1f} ms)", flush=True)
    finally:
        server.terminate()
        server.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
