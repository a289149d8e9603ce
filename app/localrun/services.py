"""Make Redis and PostgreSQL reachable for a local run.

Uses the configured servers when they answer; otherwise starts private ones
under var/ from local binaries (redis-server; PostgreSQL's initdb/pg_ctl) on the
configured port, or says exactly what to install.
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", ""}


class ServiceUnavailable(RuntimeError):
    pass


@dataclass
class PrivateService:
    name: str
    stop_command: list[str] | None = None
    process: subprocess.Popen[bytes] | None = None
    notes: list[str] = field(default_factory=list)

    def stop(self) -> None:
        if self.stop_command:
            subprocess.run(self.stop_command, check=False, capture_output=True)
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host or "127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _wait_listening(host: str, port: int, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not _listening(host, port):
        if time.monotonic() > deadline:
            raise ServiceUnavailable(f"{what} did not start listening on {host}:{port} within {timeout:.0f}s")
        time.sleep(0.2)


def ensure_redis(url: str, var_dir: Path) -> PrivateService | None:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 6379
    if _listening(host, port):
        return None
    if host not in LOCAL_HOSTS:
        raise ServiceUnavailable(f"Redis at {host}:{port} (REDIS_URL) is not reachable")
    binary = shutil.which("redis-server")
    if not binary:
        raise ServiceUnavailable(
            f"Redis is not reachable at {host}:{port} and redis-server is not installed.\n"
            "Install it (Debian/Ubuntu: `sudo apt-get install redis-server`; macOS: `brew install redis`) "
            "or point REDIS_URL at a running Redis."
        )
    data = var_dir / "redis"
    data.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(data), "--save", "",
         "--appendonly", "no", "--maxmemory-policy", "noeviction"],
        stdout=(data / "redis.log").open("ab"), stderr=subprocess.STDOUT,
    )
    _wait_listening(host, port, 15, "private redis-server")
    return PrivateService("redis", process=process, notes=[f"private Redis on {port}, data in {data}"])


def _pg_binaries() -> tuple[str, str] | None:
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        return initdb, pg_ctl
    for bindir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(f"{bindir}/initdb") and os.path.exists(f"{bindir}/pg_ctl"):
            return f"{bindir}/initdb", f"{bindir}/pg_ctl"
    return None


def ensure_postgres(url: str, var_dir: Path) -> PrivateService | None:
    parts = urlsplit(url.replace("+psycopg", ""))
    host, port = parts.hostname or "127.0.0.1", parts.port or 5432
    if _listening(host, port):
        return None
    if host not in LOCAL_HOSTS:
        raise ServiceUnavailable(f"PostgreSQL at {host}:{port} (DATABASE_URL) is not reachable")
    binaries = _pg_binaries()
    if not binaries:
        raise ServiceUnavailable(
            f"PostgreSQL is not reachable at {host}:{port} and initdb/pg_ctl are not installed.\n"
            "Install it (Debian/Ubuntu: `sudo apt-get install postgresql`; macOS: `brew install postgresql@16`) "
            "or point DATABASE_URL at a running PostgreSQL."
        )
    initdb, pg_ctl = binaries
    data = (var_dir / "postgres").resolve()
    sockets = (var_dir / "run").resolve()
    sockets.mkdir(parents=True, exist_ok=True)
    # PostgreSQL refuses to run as root: run its binaries as the postgres user then.
    as_user: list[str] = []
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(var_dir, "postgres")
        shutil.chown(sockets, "postgres")
    if not (data / "PG_VERSION").exists():
        data.mkdir(parents=True, exist_ok=True)
        if as_user:
            shutil.chown(data, "postgres")
        subprocess.run([*as_user, initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
                       check=True, capture_output=True)
    subprocess.run(
        [*as_user, pg_ctl, "-D", str(data), "-l", str(data / "server.log"), "-w",
         "-o", f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1", "start"],
        check=True, capture_output=True,
    )
    _wait_listening(host, port, 30, "private PostgreSQL")
    return PrivateService("postgres", stop_command=[*as_user, pg_ctl, "-D", str(data), "-m", "fast", "stop"],
                          notes=[f"private PostgreSQL on {port}, data in {data}"])
