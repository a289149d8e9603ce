"""Benchmark: dashboard pages over HTTP with 100,000 jobs in the history (the issue's bar: under 1 s;
issue 19 asks it of 1,000,000: --jobs 1000000), the search and the charts included.

Runs `switchyard flower` (basic auth on) against its own database (SWITCHYARD_BENCH_DATABASE,
default switchyard_bench_dash; Redis db 11). The baseline is the same pages over an empty jobs
table, measured in the same run; then 100,000 jobs are made with one INSERT ... SELECT
generate_series (8 queues; states 70 % completed, 15 % failed, the rest waiting, delayed,
running, retrying or revoked; failures with tracebacks; a supplier sync with 2,000 children)
plus 10,000 messages waiting in Redis. Each page is fetched --repeat times after a warm-up.

    .venv/bin/python bench/dashboard.py               # 100,000 jobs
    .venv/bin/python bench/dashboard.py --jobs 20000  # smaller
    .venv/bin/python bench/dashboard.py --jobs 1000000 --repeat 20
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATABASE = os.environ.get("SWITCHYARD_BENCH_DATABASE", "switchyard_bench_dash")
REDIS_DB = int(os.environ.get("SWITCHYARD_BENCH_REDIS_DB", "11"))  # apart from the test suites' dbs
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
AUTH = ("bench", "bench-secret")
ENV = {
    "DATABASE_URL": f"{PG_SERVER}/{DATABASE}",
    "REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
    "RESULT_BACKEND_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
    "CANARY_INTERVAL_SECONDS": "0",
    "SWITCHYARD_ENV_FILE": "/nonexistent/.env",
    "ENVIRONMENT": "production",  # as deployed: authentication required
    "FLOWER_BASIC_AUTH": f"{AUTH[0]}:{AUTH[1]}",
    "LOG_LEVEL": "WARNING",
}
os.environ.update(ENV)  # before app.settings is imported

import redis  # noqa: E402
import requests  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

BUDGET_S = 1.0
WAITING_QUEUE, WAITING_MESSAGES = "image-upload", 10_000
SYNC_PARENT = "bench-supplier-sync"

# One statement: job i's queue, state and times follow from i, so runs are comparable.
INSERT_JOBS = text("""
INSERT INTO jobs (id, name, queue, state, args, kwargs, priority, progress, progress_info, result, error,
                  traceback, attempts, worker, parent_id, root_id, eta, created_at, started_at, finished_at,
                  updated_at)
SELECT 'bench-' || i,
       q.name || '.task_' || (i % 5),
       q.name,
       s.state,
       jsonb_build_array(i, 'arg-' || i),
       jsonb_build_object('n', i, 'flag', i % 2 = 0),
       CASE WHEN q.name = 'analysis' THEN (i % 3) * 3 END,
       CASE WHEN i % 4 = 0 THEN (i * 7) % 101 END,
       CASE WHEN i % 4 = 0 THEN jsonb_build_object('step', 'parse', 'pages', i % 50) END,
       CASE WHEN s.state = 'SUCCESS' THEN jsonb_build_object('ok', true, 'items', i % 1000) END,
       CASE WHEN s.state IN ('FAILURE', 'RETRY') THEN 'DrillFailure: job ' || i || ' failed on purpose' END,
       CASE WHEN s.state = 'FAILURE' THEN repeat('  File "tasks/x.py", line ' || i || ', in run' || chr(10), 20) END,
       CASE WHEN s.state IN ('PENDING', 'REVOKED') THEN 0 ELSE 1 + i % 3 END,
       CASE WHEN s.state NOT IN ('PENDING', 'REVOKED') THEN q.name || '@bench' END,
       CASE WHEN q.name = 'product-family' AND i % 25 = 0 THEN :parent END,
       CASE WHEN q.name = 'product-family' AND i % 25 = 0 THEN :parent END,
       CASE WHEN s.state = 'PENDING' AND i % 2 = 0 THEN now() + make_interval(mins => i % 600) END,
       t.at - interval '5 seconds', t.at - interval '4 seconds',
       CASE WHEN s.state IN ('SUCCESS', 'FAILURE', 'REVOKED') THEN t.at END,
       t.at
FROM generate_series(1, :n) AS i
CROSS JOIN LATERAL (SELECT (ARRAY['realtime', 'events', 'backfill', 'supplier-sync', 'product-family',
                                  'image-upload', 'analysis', 'maintenance'])[1 + i % 8] AS name) q
CROSS JOIN LATERAL (SELECT CASE WHEN i % 100 < 70 THEN 'SUCCESS' WHEN i % 100 < 85 THEN 'FAILURE'
                                WHEN i % 100 < 90 THEN 'PENDING' WHEN i % 100 < 93 THEN 'STARTED'
                                WHEN i % 100 < 96 THEN 'RETRY' ELSE 'REVOKED' END AS state) s
CROSS JOIN LATERAL (SELECT now() - make_interval(secs => (i::bigint * 6048 % 604800000) / 1000.0) AS at) t
""")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_database() -> None:
    from app.db.migrate import recreate_database

    recreate_database(ENV["DATABASE_URL"])


def fill(n_jobs: int, client: redis.Redis) -> tuple[float, float]:
    """(seconds for the jobs INSERT and ANALYZE, seconds for the waiting messages)."""
    engine = create_engine(ENV["DATABASE_URL"])
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO jobs (id, name, queue, state, attempts) VALUES "
                          "(:id, 'catalogue.sync_supplier', 'supplier-sync', 'SUCCESS', 1)"), {"id": SYNC_PARENT})
        conn.execute(INSERT_JOBS, {"n": n_jobs, "parent": SYNC_PARENT})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE jobs"))
    jobs_s = time.perf_counter() - started
    engine.dispose()

    from app.platform.celery_app import celery

    started = time.perf_counter()
    with celery.producer_or_acquire() as producer:  # real kombu messages, as a burst of image uploads makes
        for i in range(WAITING_MESSAGES):
            celery.send_task("catalogue.upload_image", [i, f"https://example.invalid/{i}.png"],
                             queue=WAITING_QUEUE, priority=(i % 3) * 3, producer=producer)
    return jobs_s, time.perf_counter() - started


def clear_redis(client: redis.Redis) -> None:
    from app.platform.celeryconfig import PRIORITY_STEPS
    from app.platform.queues import priority_list_key
    from workers.pools import QUEUES

    client.delete(*[priority_list_key(q, s) for q in QUEUES for s in PRIORITY_STEPS])


def pages(n_jobs: int) -> list[tuple[str, str]]:
    deep = "after=" + requests.utils.quote(deep_cursor(n_jobs)) if n_jobs else ""
    return [
        ("queues", "/queues"),
        ("failed jobs", "/failed"),
        ("failed jobs of one queue", "/failed?queue=analysis"),
        ("failed jobs, page 200 (keyset)", f"/failed?{deep}"),
        ("one queue (10k waiting)", f"/queues/{WAITING_QUEUE}"),
        ("one queue, waiting from 9,950", f"/queues/{WAITING_QUEUE}?offset=9950"),
        ("jobs, all states", "/jobs"),
        ("jobs, one queue and state", "/jobs?queue=backfill&state=SUCCESS"),
        ("job with 2,000 children", f"/jobs/{SYNC_PARENT}" if n_jobs else "/jobs/none"),
        ("jobs containing a value (search)", f"/jobs?q=arg-{max(n_jobs // 2, 1)}"),
        ("jobs containing a common value", "/jobs?q=true"),
        ("job by the start of its id", f"/jobs/bench-{max(n_jobs // 3, 1)}"),
        ("charts, last 6 hours", "/charts?hours=6"),
        ("charts, last 48 hours", "/charts?hours=48"),
    ]


def deep_cursor(n_jobs: int) -> str:
    """The keyset cursor after 10,000 failed jobs (page 200 of 50), or after the last but one."""
    from app.dashboard.job_queries import Cursor

    engine = create_engine(ENV["DATABASE_URL"])
    with engine.connect() as conn:
        failed = conn.execute(text("SELECT count(*) FROM jobs WHERE state = 'FAILURE'")).scalar()
        row = conn.execute(text("SELECT updated_at, id FROM jobs WHERE state = 'FAILURE' "
                                "ORDER BY updated_at DESC, id DESC OFFSET :o LIMIT 1"),
                           {"o": max(0, min(9999, failed - 2))}).first()
    engine.dispose()
    return Cursor(row.updated_at, row.id).encode()


def measure(url: str, paths: list[tuple[str, str]], repeat: int) -> dict[str, list[float]]:
    session = requests.Session()
    session.auth = AUTH
    timings: dict[str, list[float]] = {}
    for label, path in paths:
        for _ in range(2):  # warm-up: connections, templates, PostgreSQL's cache
            session.get(url + path, timeout=30)
        samples = []
        for _ in range(repeat):
            started = time.perf_counter()
            reply = session.get(url + path, timeout=30)
            samples.append(time.perf_counter() - started)
            if reply.status_code not in (200, 404):
                raise SystemExit(f"{path}: HTTP {reply.status_code}\n{reply.text[:2000]}")
        timings[label] = samples
    return timings


def run_dashboard(log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "app.cli.main", "flower", "--port", str(port)], cwd=ROOT,
                               env={**os.environ, **ENV}, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the dashboard exited:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url + "/healthcheck", timeout=2).ok:
                return process, url
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit("the dashboard did not answer within 60 s")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    args = parser.parse_args()

    client = redis.Redis.from_url(ENV["REDIS_URL"])
    log = Path(os.environ.get("TMPDIR", "/tmp")) / "switchyard-bench-dashboard.log"
    fresh_database()
    clear_redis(client)
    process, url = run_dashboard(log)
    try:
        baseline = measure(url, pages(0), args.repeat)
        jobs_s, redis_s = fill(args.jobs, client)
        print(f"made {args.jobs:,} jobs in {jobs_s:.1f} s (one INSERT ... SELECT generate_series + ANALYZE) and "
              f"sent {WAITING_MESSAGES:,} messages that wait in Redis in {redis_s:.1f} s (recorded as jobs too)\n")
        loaded = measure(url, pages(args.jobs), args.repeat)
    finally:
        stop(process)
        clear_redis(client)
        if not args.keep:
            admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
            admin.dispose()

    print(f"{'page':34} {'empty median':>13} {f'{args.jobs // 1000}k median':>12} {'p95':>8} {'max':>8} "
          f"{'ratio':>6}  under {BUDGET_S:g} s")
    worst = 0.0
    for label, samples in loaded.items():
        empty = statistics.median(baseline[label])
        median = statistics.median(samples)
        p95 = sorted(samples)[max(0, int(len(samples) * 0.95) - 1)]
        worst = max(worst, max(samples))
        print(f"{label:34} {empty * 1000:10.1f} ms {median * 1000:9.1f} ms {p95 * 1000:5.0f} ms "
              f"{max(samples) * 1000:5.0f} ms {median / empty:5.1f}×  {'yes' if max(samples) < BUDGET_S else 'NO'}")
    print(f"\nslowest single request: {worst * 1000:.0f} ms ({'within' if worst < BUDGET_S else 'OVER'} the 1 s budget)")
    return 0 if worst < BUDGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
