"""A dashboard (`switchyard flower`) subprocess against the test database and Redis, and form helpers."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.conftest import ROOT, TEST_ENV
from tests.support import stop_process, wait_until

ADMIN = ("admin", "admin-secret")
VIEWER = ("viewer", "viewer-secret")
BASIC_AUTH_ENV = {
    "FLOWER_BASIC_AUTH": f"{ADMIN[0]}:{ADMIN[1]},{VIEWER[0]}:{VIEWER[1]}",
    "FLOWER_READONLY_USERS": VIEWER[0],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Dashboard:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def running_dashboard(log_dir: Path, env: dict[str, str] | None = None) -> Iterator[Dashboard]:
    """`switchyard flower` as the Procfile runs it, on a free port; stopped on exit."""
    port = free_port()
    log_path = log_dir / f"dashboard-{port}.log"
    full_env = {**os.environ, **TEST_ENV, "FLOWER_PORT": str(port), **(env or {})}
    process = subprocess.Popen([sys.executable, "-m", "app.cli.main", "flower"], cwd=ROOT, env=full_env,
                               stdout=log_path.open("wb"), stderr=subprocess.STDOUT)
    dashboard = Dashboard(f"http://127.0.0.1:{port}", process, log_path)
    try:
        def answers() -> bool:
            assert process.poll() is None, dashboard.log()
            try:
                return requests.get(f"{dashboard.url}/healthcheck", timeout=5).ok
            except requests.ConnectionError:
                return False

        wait_until(answers, timeout=60, interval=0.2, message="the dashboard to answer")
        yield dashboard
    finally:
        stop_process(process)


def xsrf_token(session: requests.Session, page_url: str) -> str:
    """Load a page, which sets the _xsrf cookie; tornado accepts the cookie's value as the form token."""
    session.get(page_url, timeout=10).raise_for_status()
    return session.cookies["_xsrf"]


def offered_actions(html: str) -> set[str]:
    """The data-action names of the buttons and links a page offers."""
    return set(re.findall(r'data-action="([^"]+)"', html))
