"""Private Redis and PostgreSQL servers a test may flush, restart or cut off (never the shared ones).

Both bind to the address the test chooses (127.0.0.1, or a multi-host test's bridge address)
on a free port, keep their data in a temp directory and can be stopped and started again on
the same port.
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from tests.support import wait_until


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def listening(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, port)) == 0


class PrivateRedis:
    def __init__(self, directory: Path, host: str = "127.0.0.1", port: int | None = None, *,
                 appendonly: bool = False) -> None:
        binary = shutil.which("redis-server")
        if not binary:
            raise RuntimeError("redis-server is not installed")
        self.binary = binary
        self.directory = directory
        self.host = host
        self.port = port or free_port(host)
        self.appendonly = appendonly  # as production: queued messages survive a restart
        self.process: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True, exist_ok=True)

    def url(self, db: int = 0) -> str:
        return f"redis://{self.host}:{self.port}/{db}"

    def start(self) -> "PrivateRedis":
        self.process = subprocess.Popen(
            [self.binary, "--bind", self.host, "--port", str(self.port), "--dir", str(self.directory),
             "--save", "", "--appendonly", "yes" if self.appendonly else "no", "--appendfsync", "always",
             "--maxmemory-policy", "noeviction",
             # Bound to one private address only (a multi-host test's bridge): no need to refuse it.
             "--protected-mode", "yes" if self.host == "127.0.0.1" else "no"],
            stdout=(self.directory / "redis.log").open("ab"), stderr=subprocess.STDOUT,
        )
        wait_until(lambda: listening(self.host, self.port), timeout=15, message=f"redis on {self.host}:{self.port}")
        return self

    def stop(self) -> None:
        """SIGKILL: what a crash does; without appendonly it also loses every key."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def client(self, db: int = 0):  # type: ignore[no-untyped-def]
        import redis

        return redis.Redis(host=self.host, port=self.port, db=db, socket_timeout=5)


def _pg_bindir() -> str | None:
    if shutil.which("pg_ctl"):
        return str(Path(shutil.which("pg_ctl") or "").parent)
    for bindir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(f"{bindir}/pg_ctl"):
            return bindir
    return None


class PrivatePostgres:
    """initdb + pg_ctl in a temp dir; as the postgres user when run as root (PostgreSQL refuses root)."""

    _remove: Path | None = None

    def __init__(self, directory: Path, host: str = "127.0.0.1", port: int | None = None) -> None:
        bindir = _pg_bindir()
        if not bindir:
            raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
        self.bindir = bindir
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:  # pytest's temp dirs are root-only: PostgreSQL's user gets its own
            directory = Path(tempfile.mkdtemp(prefix="switchyard-pg-"))
            shutil.chown(directory, "postgres")
            self._remove = directory
        self.directory = directory
        self.data = directory / "data"
        self.host = host
        self.port = port or free_port(host)
        directory.mkdir(parents=True, exist_ok=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@{self.host}:{self.port}/{database}"

    def _run(self, *argv: str) -> None:
        subprocess.run([*self.as_user, *argv], check=True, capture_output=True, cwd="/")

    def start(self) -> "PrivatePostgres":
        if not (self.data / "PG_VERSION").exists():
            self._run(f"{self.bindir}/initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                      "-E", "UTF8", "--no-sync")
            if self.host != "127.0.0.1":  # clients on the host's /24 (a multi-host test's bridge)
                subnet = self.host.rsplit(".", 1)[0] + ".0/24"
                with (self.data / "pg_hba.conf").open("a") as hba:
                    hba.write(f"host all all {subnet} trust\n")
        options = (f"-p {self.port} -k {self.directory} -c listen_addresses={self.host} -c fsync=off "
                   "-c max_connections=200 -c shared_buffers=32MB")
        self._run(f"{self.bindir}/pg_ctl", "-D", str(self.data), "-l", str(self.directory / "server.log"),
                  "-w", "-t", "60", "-o", options, "start")
        return self

    def stop(self, mode: str = "immediate") -> None:
        """`immediate` is a crash for the clients: every connection is cut at once."""
        if (self.data / "postmaster.pid").exists():
            subprocess.run([*self.as_user, f"{self.bindir}/pg_ctl", "-D", str(self.data), "-m", mode, "-w",
                            "stop"], check=False, capture_output=True, cwd="/")

    def restart(self) -> None:
        self.stop()
        self.start()

    def remove(self) -> None:
        """Stop and delete the data directory."""
        self.stop()
        if self._remove:
            shutil.rmtree(self._remove, ignore_errors=True)

    def create_database(self, name: str) -> str:
        from sqlalchemy import create_engine, text

        admin = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return self.url(name)
