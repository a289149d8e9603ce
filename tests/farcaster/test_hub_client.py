"""Hub client: retries on 5xx and resets, 429 Retry-After, failover, API key, bad bodies."""
from __future__ import annotations

import json
import socket
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.farcaster.hub_client import HubClient, HubRequestError, HubUnavailable
from app.farcaster.messages import HubDataError
from simulators.hub.faults import FaultConfig


def test_retries_5xx_resets_and_truncation(hub_sim):
    client = HubClient(hub_sim.url, attempts=8, backoff_max=0.05)
    hub_sim.faults.inject("error", count=2, status=503)
    hub_sim.faults.inject("reset", count=1)
    hub_sim.faults.inject("truncate", count=1)
    assert client.info()["numShards"] == 2
    assert hub_sim.faults.injected["error"] == 2 and hub_sim.faults.injected["reset"] == 1


def test_malformed_body_fails_visibly_after_retries(hub_sim):
    hub_sim.faults.configure(FaultConfig(malformed_rate=1.0))
    client = HubClient(hub_sim.url, attempts=3, backoff_max=0.01)
    with pytest.raises(HubUnavailable, match="malformed JSON"):
        client.info()


def test_4xx_is_not_retried(hub_sim):
    client = HubClient(hub_sim.url, attempts=5, backoff_max=0.01)
    with pytest.raises(HubRequestError, match="reaction_type"):
        client.get("/v1/reactionsByFid", fid=1)


def test_failover_to_the_next_hub(hub_sim):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    client = HubClient([dead, hub_sim.url], attempts=3, backoff_max=0.01)
    assert client.info()["numShards"] == 2
    assert client.urls[client._preferred] == hub_sim.url  # later requests go straight to the live hub


class _JsonHandler(BaseHTTPRequestHandler):
    def send_json(self, status: int, body: bytes, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]):
    """A local HTTP server for ``handler``; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


class _Recorder(_JsonHandler):
    calls: list = []

    def do_GET(self):  # noqa: N802
        _Recorder.calls.append(dict(self.headers))
        if len(_Recorder.calls) == 1:
            self.send_json(429, b"", **{"Retry-After": "1"})
            return
        self.send_json(200, json.dumps([1, 2]).encode() if self.path.startswith("/list") else b'{"ok":true}')


def test_429_honours_retry_after_and_api_key_is_sent():
    _Recorder.calls = []
    with serving(_Recorder) as url:
        waits: list[float] = []
        client = HubClient(url, api_key="k-123", attempts=3, backoff_max=5, sleep=waits.append)
        assert client.get("/v1/info") == {"ok": True}
        assert waits == [1.0] and len(_Recorder.calls) == 2
        assert _Recorder.calls[0].get("x-api-key") == "k-123"
        with pytest.raises(HubDataError, match="JSON object"):
            client.get("/list")


class _KeepAlive(_JsonHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a client that returns its connection reuses it
    ports: list = []

    def do_GET(self):  # noqa: N802
        _KeepAlive.ports.append(self.client_address[1])
        self.send_json(200, json.dumps({"messages": list(range(5000))}).encode())  # larger than one read chunk


def test_a_read_body_returns_its_connection_for_the_next_request():
    _KeepAlive.ports = []
    with serving(_KeepAlive) as url:
        client = HubClient(url)
        for _ in range(20):
            assert len(client.get("/v1/castsByFid", fid=1)["messages"]) == 5000
        assert len(_KeepAlive.ports) == 20 and len(set(_KeepAlive.ports)) == 1
