"""Analysis test fixtures: a local page server, the HTTP API on a real socket, the analysis worker."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests

from app.analysis.page_server import PageServer
from tests.support import wait_until

TOKEN = "test-token"
# The analysis pool as tests run it: one process (so completion order is dispatch order), loopback
# pages allowed, short backoff, and a read timeout longer than a held page.
WORKER_ENV = {
    "ANALYSIS_CONCURRENCY": "1",
    "ANALYSIS_ALLOW_PRIVATE_ADDRESSES": "true",
    "ANALYSIS_RETRY_BASE_DELAY": "0.2",
    "ANALYSIS_RETRY_MAX_DELAY": "1",
    "ANALYSIS_FETCH_READ_TIMEOUT": "30",
    "ANALYSIS_FETCH_TOTAL_TIMEOUT": "45",
}


class ApiClient:
    """requests against the live API, with the bearer token unless told otherwise."""

    def __init__(self, base_url: str, token: str | None) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.trust_env = False
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.get(self.base_url + path, timeout=10, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.post(self.base_url + path, timeout=10, **kwargs)

    def submit(self, **body: Any) -> str:
        response = self.post("/v1/analyze", json=body)
        assert response.status_code == 202, response.text
        return response.json()["jobId"]

    def job(self, job_id: str) -> dict[str, Any]:
        response = self.get(f"/v1/analyze/{job_id}")
        assert response.status_code == 200, response.text
        return response.json()


@contextmanager
def running_api(**overrides: Any) -> Iterator[str]:
    """The API app with these settings, served by uvicorn on a free 127.0.0.1 port; yields its base URL."""
    import uvicorn

    from app.analysis.api import create_app
    from app.settings import load_settings

    app = create_app(load_settings(**overrides))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="analysis-api", daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=10, message="the API server to start")
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="session")
def api_url(database: str) -> Iterator[str]:
    """The API as the worker tests need it: token required, loopback URLs accepted."""
    with running_api(analysis_api_token=TOKEN, analysis_allow_private_addresses=True) as url:
        yield url


@pytest.fixture
def api(api_url: str, db: str, redis_client: Any) -> ApiClient:
    return ApiClient(api_url, TOKEN)


@pytest.fixture
def pages() -> Iterator[PageServer]:
    with PageServer() as server:
        yield server


_started: dict[str, Any] = {}


@pytest.fixture
def analysis_worker(worker_pools: Any, redis_client: Any) -> Any:
    """The real analysis pool (`switchyard worker analysis`) with WORKER_ENV, started after the queues
    were emptied; restarted only when it is not the one this module started (or it died)."""
    current = worker_pools.running.get("analysis")
    if current is None or current is not _started.get("worker") or current.process.poll() is not None:
        _started["worker"] = worker_pools.restart("analysis", env=WORKER_ENV)
    return _started["worker"]


@pytest.fixture
def stopped_analysis_worker(worker_pools: Any, redis_client: Any) -> Iterator[None]:
    """No analysis worker while a test queues jobs with arbitrary URLs: nothing may fetch them."""
    worker_pools.stop("analysis")
    yield
    from app.platform.celeryconfig import PRIORITY_STEPS
    from app.platform.queues import priority_list_key

    redis_client.delete(*[priority_list_key("analysis", step) for step in PRIORITY_STEPS])
