"""The test harness: real Redis, PostgreSQL and Celery workers, isolated from users' data.

Tests use their own PostgreSQL database (SWITCHYARD_TEST_DATABASE, default
switchyard_test) and Redis db number (SWITCHYARD_TEST_REDIS_DB, default 15), so
several suites can run side by side with different values.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

TEST_DATABASE = os.environ.get("SWITCHYARD_TEST_DATABASE", "switchyard_test")
TEST_REDIS_DB = int(os.environ.get("SWITCHYARD_TEST_REDIS_DB", "15"))
PG_SERVER = os.environ.get("SWITCHYARD_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
REDIS_SERVER = os.environ.get("SWITCHYARD_TEST_REDIS", "redis://127.0.0.1:6379")

# Set before anything imports app.settings (settings are read once per process).
TEST_ENV = {
    "DATABASE_URL": f"{PG_SERVER}/{TEST_DATABASE}",
    "REDIS_URL": f"{REDIS_SERVER}/{TEST_REDIS_DB}",
    "RESULT_BACKEND_URL": f"{REDIS_SERVER}/{TEST_REDIS_DB}",
    "ENVIRONMENT": "test",
    "CANARY_INTERVAL_SECONDS": "0",
    "SWITCHYARD_ENV_FILE": "/nonexistent/.env",  # a developer's .env must not leak into tests
}
os.environ.update(TEST_ENV)

ROOT = Path(__file__).resolve().parents[1]

from tests.support import stop_process, wait_until  # noqa: E402


@pytest.fixture(scope="session")
def database() -> Iterator[str]:
    """A freshly created and migrated test database (once per session)."""
    from sqlalchemy import create_engine, text

    from app.db.migrate import upgrade

    admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{TEST_DATABASE}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{TEST_DATABASE}"'))
    admin.dispose()
    upgrade(TEST_ENV["DATABASE_URL"])
    yield TEST_ENV["DATABASE_URL"]


@pytest.fixture
def db(database: str) -> Iterator[str]:
    """An empty schema for each test: every table truncated before it runs."""
    from sqlalchemy import text

    from app.db import get_engine
    from app.db.models_registry import metadata

    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with get_engine().begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    yield database


@pytest.fixture
def redis_client() -> Iterator["object"]:
    """The test Redis db with every queue emptied (bindings kept: workers may be connected)."""
    import redis

    from app.platform.queues import priority_list_key
    from app.platform.celeryconfig import PRIORITY_STEPS
    from workers.pools import QUEUES

    client = redis.Redis.from_url(TEST_ENV["REDIS_URL"])
    client.delete(*[priority_list_key(q, s) for q in QUEUES for s in PRIORITY_STEPS])
    yield client
    client.close()


class WorkerProcess:
    def __init__(self, pool: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
        self.pool = pool
        self.process = process
        self.log_path = log_path
        self.nodename = f"{pool}@{socket.gethostname()}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 20) -> None:
        stop_process(self.process, timeout)


class WorkerPools:
    """Starts pool workers on demand (`switchyard worker <pool>`, as in production), once per session."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.running: dict[str, WorkerProcess] = {}

    def _spawn(self, pool: str, env: dict[str, str]) -> WorkerProcess:
        from app.settings import pool_env_prefix

        full_env = {**os.environ, **TEST_ENV, f"{pool_env_prefix(pool)}_CONCURRENCY": "2", **env}
        log_path = self.log_dir / f"{pool}.log"
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli.main", "worker", pool],
            cwd=ROOT, env=full_env, stdout=log_path.open("wb"), stderr=subprocess.STDOUT,
        )
        return WorkerProcess(pool, process, log_path)

    def start(self, *pools: str, env: dict[str, str] | None = None) -> dict[str, WorkerProcess]:
        """Ensure these pools run; returns them. `env` only applies to newly started ones."""
        from app.platform.celery_app import celery

        new = [p for p in pools if p not in self.running or self.running[p].process.poll() is not None]
        for pool in new:
            self.running[pool] = self._spawn(pool, env or {})
        for pool in new:
            worker = self.running[pool]

            def answered(worker: WorkerProcess = worker) -> bool:
                if worker.process.poll() is not None:
                    raise AssertionError(f"worker {worker.pool} exited:\n{worker.log()[-3000:]}")
                return bool(celery.control.ping(destination=[worker.nodename], timeout=0.5))

            wait_until(answered, timeout=60, message=f"worker {pool} to answer ping")
        return {p: self.running[p] for p in pools}

    def restart(self, pool: str, env: dict[str, str] | None = None) -> WorkerProcess:
        self.stop(pool)
        return self.start(pool, env=env)[pool]

    def stop(self, pool: str) -> None:
        worker = self.running.pop(pool, None)
        if worker:
            worker.stop()

    def stop_all(self) -> None:
        for pool in list(self.running):
            self.stop(pool)


@pytest.fixture(scope="session")
def worker_pools(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerPools]:
    """Real Celery workers per pool against the test Redis and database; start them with .start()."""
    pools = WorkerPools(tmp_path_factory.mktemp("worker-logs"))
    yield pools
    pools.stop_all()


@pytest.fixture(scope="session")
def celery_app() -> object:
    from app.platform.celery_app import celery

    return celery
