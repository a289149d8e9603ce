"""Platform commands: status, jobs, job, failed, worker, flower, migrate, render."""
from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime, timezone
from typing import Any

from app.cli.output import emit_json, table
from app.platform.jobs.models import JobState
from app.settings import get_settings
from workers.pools import POOLS_BY_NAME, QUEUES

STATE_COLUMNS = ("PENDING", "STARTED", "RETRY", "SUCCESS", "FAILURE", "REVOKED", "REJECTED")


def cmd_status(args: argparse.Namespace) -> int:
    from app.platform.jobs import queries
    from app.platform.queues import waiting_by_priority

    settings = get_settings()
    depths = waiting_by_priority(settings.redis_url, QUEUES)
    counts = queries.counts_by_queue_and_state()
    canaries = queries.last_success_by_name("canary.")
    data: dict[str, dict[str, Any]] = {
        queue: {
            "waiting": sum(depths[queue].values()),
            "waiting_by_priority": depths[queue],
            "jobs": counts.get(queue, {}),
            "last_canary": canaries.get(f"canary.{queue}"),
        }
        for queue in QUEUES
    }
    if args.json:
        emit_json(data)
        return 0
    now = datetime.now(timezone.utc)
    rows = []
    for queue, info in data.items():
        canary = info["last_canary"]
        age = f"{int((now - canary).total_seconds())}s ago" if canary else "never"
        rows.append([queue, info["waiting"], *[info["jobs"].get(s, 0) for s in STATE_COLUMNS], age])
    print(table(["queue", "waiting", *[s.lower() for s in STATE_COLUMNS], "last canary"], rows))
    return 0


def _job_rows(jobs: list[dict[str, Any]]) -> list[list[Any]]:
    return [[j["id"], j["name"], j["queue"], j["state"], j["attempts"], j["progress"], j["updated_at"],
             (j["error"] or "")[:50]] for j in jobs]


JOB_HEADERS = ["id", "name", "queue", "state", "attempts", "progress", "updated", "error"]


def cmd_jobs(args: argparse.Namespace) -> int:
    from app.platform.jobs import queries

    if args.view == "running":
        return cmd_running(args)

    state = args.state.upper() if args.state else None
    if state and state not in JobState.ALL:
        print(f"switchyard: unknown state {args.state!r}; one of {', '.join(JobState.ALL)}", file=sys.stderr)
        return 2
    return _print_jobs(args, queries.list_jobs(state=state, queue=args.queue, name=args.name, limit=args.limit))


def _seconds(value: Any) -> str:
    return "-" if value is None else f"{float(value):.1f}s"


def cmd_running(args: argparse.Namespace) -> int:
    """Work held under leases now: which worker process, for how long, and its last heartbeat."""
    from app.db import get_engine
    from app.platform import leases

    with get_engine().connect() as conn:
        rows = leases.running(conn, kind_prefix=args.name or "", limit=args.limit)
    if args.json:
        emit_json(rows)
        return 0
    print(table(["task id", "task", "key", "state", "worker", "epoch", "lease age", "heartbeat", "alive"],
                [[r["task_id"], r["kind"], r["key"], r["state"],
                  r["owner"] or f"(was {r['previous_owner']})", r["epoch"], _seconds(r["lease_age_seconds"]),
                  f"{_seconds(r['heartbeat_age_seconds'])} ago" if r["heartbeat_age_seconds"] is not None else "-",
                  "yes" if r["alive"] else "NO"] for r in rows]))
    return 0


def cmd_failed(args: argparse.Namespace) -> int:
    from app.platform.jobs import queries

    return _print_jobs(args, queries.failed_jobs(queue=args.queue, limit=args.limit))


def _print_jobs(args: argparse.Namespace, jobs: list[dict[str, Any]]) -> int:
    if args.json:
        emit_json(jobs)
    else:
        print(table(JOB_HEADERS, _job_rows(jobs)))
    return 0


def cmd_job(args: argparse.Namespace) -> int:
    from app.platform.jobs import queries

    job = queries.get_job(args.job_id)
    if job is None:
        # An id as lists show it (its first characters): found when exactly one job has it.
        try:
            matches = queries.ids_with_prefix(args.job_id, limit=10)
        except queries.BadJobPrefix:
            matches = []
        if len(matches) == 1:
            job = queries.get_job(matches[0]["id"])
        elif matches:
            print(f"switchyard: {args.job_id!r} is the start of several job ids; say more of it:", file=sys.stderr)
            print(table(["id", "name", "state", "updated"],
                        [[m["id"], m["name"], m["state"], m["updated_at"]] for m in matches]), file=sys.stderr)
            return 1
    if job is None:
        print(f"switchyard: no job {args.job_id!r} in the jobs table", file=sys.stderr)
        return 1
    job["children"] = queries.children_of(job["id"])
    if args.json:
        emit_json(job)
        return 0
    traceback = job.pop("traceback")
    children = job.pop("children")
    print(table(["field", "value"], [[k, v] for k, v in job.items()], max_width=200))
    if children:
        print("\nchildren:")
        print(table(["id", "name", "state"], [[c["id"], c["name"], c["state"]] for c in children]))
    if traceback:
        print("\ntraceback:\n" + traceback.rstrip())
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from workers.command import worker_argv

    if args.pool not in POOLS_BY_NAME:
        print(f"switchyard: unknown pool {args.pool!r}; one of {', '.join(POOLS_BY_NAME)}", file=sys.stderr)
        return 2
    settings = get_settings()
    pool = settings.pool(args.pool)
    if args.print:
        print(" ".join(worker_argv(pool, loglevel=settings.log_level)))
        return 0
    # This interpreter's celery, so a virtualenv works without being activated.
    argv = worker_argv(pool, loglevel=settings.log_level, celery=(sys.executable, "-m", "celery"))
    os.execv(argv[0], argv)  # replace this process: signals reach the worker directly


def flower_argv(address: str | None = None, port: int | None = None) -> list[str]:
    """Flower with the Switchyard dashboard (app.dashboard), same options as `celery -A app flower`."""
    settings = get_settings()
    argv = [sys.executable, "-m", "app.dashboard",
            f"--address={address or settings.flower_address}", f"--port={port or settings.flower_port}"]
    for option, value in (("auth", settings.flower_auth), ("auth_provider", settings.flower_auth_provider),
                          ("oauth2_key", settings.flower_oauth2_key),
                          ("oauth2_redirect_uri", settings.flower_oauth2_redirect_uri)):
        if value:
            argv.append(f"--{option}={value}")
    return argv


def flower_env() -> dict[str, str]:
    """Passwords go by environment, not argv (which every local user can read in ps)."""
    settings = get_settings()
    env = dict(os.environ)
    if settings.flower_basic_auth:
        env["FLOWER_BASIC_AUTH"] = settings.flower_basic_auth
    if settings.flower_oauth2_secret:
        env["FLOWER_OAUTH2_SECRET"] = settings.flower_oauth2_secret
    return env


def cmd_flower(args: argparse.Namespace) -> int:
    argv = flower_argv(args.address, args.port)
    os.execve(argv[0], argv, flower_env())


def cmd_migrate(args: argparse.Namespace) -> int:
    from app.db.migrate import ensure_database, upgrade

    created = ensure_database()
    upgrade(revision="heads")
    print(("created and " if created else "") + "migrated the database to the latest schema")
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    from workers import render

    if args.check:
        drifted = render.drifted()
        for path in drifted:
            print(f"{path.name} differs from workers/pools.py; run `switchyard render`", file=sys.stderr)
        return 1 if drifted else 0
    for path in render.write():
        print(f"rewrote {path.name}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("status", help="queue depths, job counts by state, last canary per queue")
    p.set_defaults(func=cmd_status)

    p = subparsers.add_parser("jobs", help="recent jobs, newest first; `jobs running`: work held by workers now")
    p.add_argument("view", nargs="?", choices=["running"],
                   help="running: each unit of work with its worker, lease age and last heartbeat")
    p.add_argument("--state")
    p.add_argument("--queue")
    p.add_argument("--name")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=cmd_jobs)

    p = subparsers.add_parser("failed", help="failed jobs, newest first")
    p.add_argument("--queue")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=cmd_failed)

    p = subparsers.add_parser("job", help="one job by id (or its first characters), with its error, traceback and children")
    p.add_argument("job_id")
    p.set_defaults(func=cmd_job)

    p = subparsers.add_parser("worker", help="run one pool's worker as defined in workers/pools.py")
    p.add_argument("pool")
    p.add_argument("--print", action="store_true", help="print the celery command instead of running it")
    p.set_defaults(func=cmd_worker)

    p = subparsers.add_parser("flower", help="run the dashboard: Flower plus queues, jobs and actions")
    p.add_argument("--address")
    p.add_argument("--port", type=int)
    p.set_defaults(func=cmd_flower)

    p = subparsers.add_parser("migrate", help="create the database if needed and apply all migrations")
    p.set_defaults(func=cmd_migrate)

    p = subparsers.add_parser("render", help="regenerate Procfile and compose.yaml from workers/pools.py")
    p.add_argument("--check", action="store_true", help="exit 1 if they differ instead of writing")
    p.set_defaults(func=cmd_render)
