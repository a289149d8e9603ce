"""A Switchyard installation spread over simulated hosts (tests/multihost/netns.py).

The bridge address carries the shared services, all private to the test: Redis, PostgreSQL
(initdb in a temp dir), the hub simulator, the feed simulator and a page server for analyses.
Each worker host runs the work pools with `switchyard worker <pool>`; the control side (the
root namespace, never cut) runs beat and the events and maintenance pools, as an operator's
control node would. `Cluster.close()` stops everything, also after a failed start.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from tests.multihost.netns import Host, Network
from tests.private_services import PrivatePostgres, PrivateRedis
from tests.support import stop_process, wait_until

ROOT = Path(__file__).resolve().parents[2]
WORK_POOLS = ("backfill", "product-family", "image-upload", "analysis")
# One supplier-sync task per supplier only fans out work: the control side runs it, with events
# (target bookkeeping) and maintenance (the lease sweep).
CONTROL_POOLS = ("events", "maintenance", "supplier-sync")
START_TIMEOUT = 300  # 16 Celery processes importing at once on two shared cores
KEEP_TABLES = ("alembic_version", "lease_owners")  # live workers' heartbeat rows stay

# Small and quick: leases expire 8 s after a process's last heartbeat, beat sweeps every 3 s.
CLUSTER_ENV = {
    "ENVIRONMENT": "test", "LOG_LEVEL": "INFO", "SWITCHYARD_ENV_FILE": "/nonexistent/.env",
    "CANARY_INTERVAL_SECONDS": "0",
    # Farcaster's own recovery re-sends pending backfills and scans; no realtime pool consumes the
    # polls beat sends as well (they expire).
    "FARCASTER_RECOVERY_INTERVAL_SECONDS": "5", "FARCASTER_STALE_AFTER_SECONDS": "10",
    "LEASE_HEARTBEAT_SECONDS": "2", "LEASE_TTL_SECONDS": "8", "LEASE_SWEEP_INTERVAL_SECONDS": "3",
    "BEAT_LOCK_TIMEOUT_SECONDS": "10",
    "HUB_REQUESTS_PER_SECOND": "5000", "HUB_BACKOFF_MAX_SECONDS": "0.5", "HUB_ATTEMPTS": "12",
    "HUB_TIMEOUT_SECONDS": "5", "HUB_PAGE_SIZE": "50",
    "ANALYSIS_ALLOW_PRIVATE_ADDRESSES": "true", "ANALYSIS_FETCH_TOTAL_TIMEOUT": "20",
    "CATALOGUE_HTTP_TIMEOUT_SECONDS": "5", "CATALOGUE_FAMILY_RETRY_DELAY_SECONDS": "1",
    "CATALOGUE_IMAGE_RETRY_DELAY_SECONDS": "1", "CATALOGUE_SUPPLIER_RETRY_DELAY_SECONDS": "1",
    "DATABASE_POOL_SIZE": "2",
    "BACKFILL_CONCURRENCY": "2", "SUPPLIER_SYNC_CONCURRENCY": "1", "PRODUCT_FAMILY_CONCURRENCY": "2",
    "IMAGE_UPLOAD_CONCURRENCY": "2", "ANALYSIS_CONCURRENCY": "2", "EVENTS_CONCURRENCY": "2",
    "MAINTENANCE_CONCURRENCY": "1",
    # Known gap: a message a worker prefetched but has not started holds no lease, so on a lost
    # host it waits for the broker's visibility timeout. One message per process, no extra.
    "IMAGE_UPLOAD_PREFETCH_MULTIPLIER": "1", "EVENTS_PREFETCH_MULTIPLIER": "1",
}


class Cluster:
    def __init__(self, workdir: Path, *, hosts: int = 3, pools: tuple[str, ...] = WORK_POOLS,
                 control_pools: tuple[str, ...] = CONTROL_POOLS, hub_kwargs: dict[str, Any] | None = None,
                 feed_kwargs: dict[str, Any] | None = None, env: dict[str, str] | None = None,
                 page_delay: float = 1.0, start_hosts: int | None = None) -> None:
        self.workdir = workdir
        self.pools = pools
        self.control_pools = control_pools
        self.logs = workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self._stack = ExitStack()
        self.control: list[subprocess.Popen[bytes]] = []
        self.workers: dict[tuple[str, str], subprocess.Popen[bytes]] = {}
        try:
            self._start(hosts, hub_kwargs or {}, feed_kwargs or {}, env or {}, page_delay,
                        hosts if start_hosts is None else start_hosts)
        except BaseException:
            self.close()
            raise

    # --- start / stop ---------------------------------------------------------------------
    def _start(self, hosts: int, hub_kwargs: dict[str, Any], feed_kwargs: dict[str, Any],
               env: dict[str, str], page_delay: float, start_hosts: int) -> None:
        from app.analysis.page_server import PageServer, html
        from app.db.migrate import upgrade
        from simulators.hub.server import HubServer
        from simulators.promidata.model import FeedModel
        from simulators.promidata.server import PromidataServer

        self.network = Network()
        self._stack.callback(self.network.destroy)
        for _ in range(hosts):
            self.network.add_host()
        gateway = self.network.gateway
        self.redis = PrivateRedis(self.workdir / "redis", host=gateway, appendonly=True).start()
        self._stack.callback(self.redis.stop)
        self.postgres = PrivatePostgres(self.workdir / "postgres", host=gateway).start()
        self._stack.callback(self.postgres.remove)
        self.database_url = self.postgres.create_database("switchyard")
        upgrade(self.database_url)
        self.engine: Engine = create_engine(self.database_url, pool_pre_ping=True)
        self._stack.callback(self.engine.dispose)
        self.hub = HubServer(host=gateway, **{"num_fids": 40, "seed": 5, **hub_kwargs}).start()
        self._stack.callback(self.hub.stop)
        self.feed = PromidataServer(FeedModel(**{"families_per_supplier": 4, "images_per_family": 2,
                                                 **feed_kwargs}), host=gateway).start()  # type: ignore[arg-type]
        self._stack.callback(self.feed.stop)

        def page() -> Any:
            time.sleep(page_delay)  # keeps analyses in flight long enough to be caught by a fault
            return html("<html><head><title>tool</title><meta name='generator' content='WordPress 6.4'>"
                        "</head><body><p>hello</p></body></html>")

        self.pages = PageServer({f"/page/{i}": page for i in range(200)}, host=gateway).start()
        self._stack.callback(self.pages.stop)
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("SWITCHYARD_TEST", "PYTEST"))},
            **CLUSTER_ENV,
            "REDIS_URL": self.redis.url(0), "RESULT_BACKEND_URL": self.redis.url(1),
            "DATABASE_URL": self.database_url, "HUB_URLS": self.hub.url,
            "CATALOGUE_IMPORT_URL": self.feed.import_url,
            "CATALOGUE_STORAGE_DIR": str(self.workdir / "images"),
            **env,
        }
        self._stack.callback(self._stop_processes)
        self.control.append(self._popen_control(["-m", "celery", "-A", "app", "beat", "--loglevel", "INFO"], "beat"))
        for pool in self.control_pools:
            self.control.append(self._popen_control(["-m", "app.cli.main", "worker", pool], pool))
        for host in self.network.hosts[:start_hosts]:
            self.start_host(host)
        self.wait_for_workers(self.network.hosts[:start_hosts], timeout=START_TIMEOUT)

    def _popen_control(self, argv: list[str], name: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, *argv], cwd=ROOT, env=self.env,
                                stdout=(self.logs / f"control-{name}.log").open("ab"), stderr=subprocess.STDOUT)

    def start_host(self, host: Host, env: dict[str, str] | None = None) -> None:
        for pool in self.pools:
            self.workers[(host.name, pool)] = host.popen(
                [sys.executable, "-m", "app.cli.main", "worker", pool], env={**self.env, **(env or {})},
                log=self.logs / f"{host.name}-{pool}.log", cwd=ROOT)

    def stop_host(self, host: Host) -> None:
        """A clean shutdown of the host's workers (SIGTERM, then SIGKILL after 20 s)."""
        for pool in self.pools:
            process = self.workers.pop((host.name, pool), None)
            if process is not None:
                stop_process(process, 20)

    def expected_nodes(self, hosts: list[Host] | None = None) -> set[str]:
        import socket

        nodes = {f"{pool}@{socket.gethostname()}" for pool in self.control_pools}
        for host in hosts if hosts is not None else self.network.hosts:
            nodes |= {f"{pool}@{host.name}" for pool in self.pools}
        return nodes

    def wait_for_workers(self, hosts: list[Host] | None = None, timeout: float = 120) -> None:
        from celery import Celery

        from app import celery as configured

        expected = self.expected_nodes(hosts)
        control = Celery(broker=self.redis.url(0))
        # The same transport options as the workers (kombu's binding separator is among them).
        control.conf.broker_transport_options = dict(configured.conf.broker_transport_options)
        answered: set[str] = set()

        def all_answer() -> bool:
            for process in [*self.control, *self.workers.values()]:
                assert process.poll() is None, f"a cluster process exited:\n{self.tail_logs()}"
            for reply in control.control.ping(timeout=1.0) or []:
                answered.update(reply)
            return expected <= answered

        try:
            wait_until(all_answer, timeout=timeout, interval=0.5,
                       message=f"every worker to answer ping (missing {sorted(expected - answered)})")
        finally:
            control.close()

    def _stop_processes(self) -> None:
        for process in [*self.workers.values(), *self.control]:
            if process.poll() is None:
                process.send_signal(15)
        for process in [*self.workers.values(), *self.control]:
            stop_process(process, 20)

    def close(self) -> None:
        self._stack.close()

    def tail_logs(self, lines: int = 15) -> str:
        out = []
        for path in sorted(self.logs.glob("*.log")):
            tail = path.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {path.name}\n" + "\n".join(tail))
        return "\n".join(out)

    # --- driving a run ------------------------------------------------------------------------
    def reset(self) -> None:
        """Empty every table but the live workers' heartbeats, and every queue."""
        with self.engine.begin() as conn:
            names = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars()
            tables = ", ".join(f'"{n}"' for n in names if n not in KEEP_TABLES)
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        client = self.redis.client()
        for key in client.scan_iter("*"):
            name = key.decode()
            if not name.startswith(("_kombu", "switchyard:redbeat")):
                client.delete(key)

    def send(self, **work: Any) -> dict[str, Any]:
        argv = [sys.executable, "-m", "tests.multihost.driver"]
        for name, value in work.items():
            if value is True:
                argv.append(f"--{name.replace('_', '-')}")
            elif value:
                argv += [f"--{name.replace('_', '-')}", str(value)]
        done = subprocess.run(argv, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def now(self) -> Any:
        return self.scalar("SELECT now()")
