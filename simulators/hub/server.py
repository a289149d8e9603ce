"""HTTP server for the simulated hub: the Snapchain API (``api.py``), fault injection and the
control endpoints under ``/_sim/`` (a path Snapchain does not use). Binds 127.0.0.1 only."""
from __future__ import annotations

import json
import socket
import struct
import threading
import time
import socketserver
from urllib.parse import parse_qs

from .api import HubApi, Response
from .faults import FaultConfig, Faults
from .network import Network
from .ticker import Ticker

HOST = "127.0.0.1"


_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 429: "Too Many Requests", 500: "Internal Server Error",
            502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


class _Handler(socketserver.StreamRequestHandler):
    """Minimal HTTP/1.1 with keep-alive. http.server's header parsing (email.parser) cost more
    than the API itself, so requests are parsed by hand here."""

    rbufsize = 65536

    def setup(self):
        super().setup()
        # one write per response and no Nagle: otherwise delayed ACKs add ~40 ms per request
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.connections.add(self.connection)

    def finish(self):
        self.server.connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def handle(self):
        hub = self.server.hub
        rfile = self.rfile
        while True:
            try:
                line = rfile.readline(65537)
            except (ConnectionError, OSError):
                return
            if not line:
                return
            if line in (b"\r\n", b"\n"):
                continue
            parts = line.split()
            if len(parts) != 3:
                self._write(Response(400, "Bad Request", "text/plain"), keep_alive=False)
                return
            method, target, version = parts[0].decode("latin-1"), parts[1].decode("latin-1"), parts[2]
            length, connection = 0, b""
            while True:
                h = rfile.readline(65537)
                if h in (b"\r\n", b"\n", b""):
                    break
                name, _, value = h.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value.strip() or 0)
                elif name == b"connection":
                    connection = value.strip().lower()
            body = rfile.read(length) if length else b""
            keep_alive = (connection != b"close") if version == b"HTTP/1.1" else (connection == b"keep-alive")
            if not self._serve(hub, method, target, body, keep_alive) or not keep_alive:
                return

    def _serve(self, hub, method, target, body, keep_alive) -> bool:
        """Answer one request; False when the connection must close."""
        hub.requests += 1
        path, _, qs = target.partition("?")
        query = parse_qs(qs, keep_blank_values=True) if qs else {}
        if path.startswith("/_sim/"):
            return self._write(hub.control(method, path, query, body), keep_alive)
        delay, fault = hub.faults.decide(path)
        if delay:
            time.sleep(delay)   # simulated network latency
        kind = fault["kind"] if fault else None
        if kind == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False
        if kind == "error":
            return self._write(Response(int(fault.get("status", 500)),
                                        json.dumps({"error": "Internal error", "error_detail": "simulated fault"})), keep_alive)
        if kind == "rate_limit":
            return self._write(Response(429, "Too Many Requests", "text/plain",
                                        (("Retry-After", str(fault.get("retry_after", 1))),)), keep_alive)
        resp = hub.api.handle(path, query)
        if kind == "malformed":
            resp = Response(200, resp.body[: max(1, len(resp.body) // 2)] + "\x00<html>", resp.content_type)
        if kind == "truncate":
            data = resp.body.encode("utf-8")
            self.wfile.write(self._head(resp, len(data), False) + data[: len(data) // 2])
            return False
        if resp.status == 200 and resp.body.startswith('{"messages"'):
            hub.messages_served += resp.body.count('"hashScheme"')
        return self._write(resp, keep_alive)

    @staticmethod
    def _head(resp: Response, length: int, keep_alive: bool) -> bytes:
        ctype = resp.content_type + ("; charset=utf-8" if resp.content_type == "text/plain" else "")
        lines = [f"HTTP/1.1 {resp.status} {_REASONS.get(resp.status, 'Error')}", f"content-type: {ctype}",
                 f"content-length: {length}", "access-control-allow-origin: *",
                 "connection: keep-alive" if keep_alive else "connection: close"]
        lines += [f"{k}: {v}" for k, v in resp.headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _write(self, resp: Response, keep_alive: bool) -> bool:
        data = resp.body.encode("utf-8")
        try:
            self.wfile.write(self._head(resp, len(data), keep_alive) + data)
        except (ConnectionError, OSError):
            return False
        return True


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 1024

    def __init__(self, *args, **kwargs):
        self.connections: set = set()
        super().__init__(*args, **kwargs)

    def close_connections(self):
        """Hang up on keep-alive clients so their handler threads end with the server."""
        for conn in list(self.connections):
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class HubServer:
    """A running simulated hub. ``url``, the Python control API, and ``/_sim/`` over HTTP."""

    def __init__(self, network: Network | None = None, *, port: int = 0, block_rate: float = 0.0,
                 hubble: bool = False, faults: FaultConfig | None = None, revocation: str | None = None,
                 host: str = HOST, **network_kwargs):
        self.host = host
        self.network = network or Network(**network_kwargs)
        if revocation is not None or hubble:
            self.set_revocation(revocation or "hubble")
        self.api = HubApi(self.network, hubble=hubble)
        self.faults = Faults(faults)
        self.ticker = Ticker(self.network, block_rate)
        self.requests = 0
        self.messages_served = 0
        self._httpd = _Server((host, port), _Handler)
        self._httpd.hub = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name="hub-sim-http", daemon=True)

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "HubServer":
        self._thread.start()
        self.ticker.start()
        return self

    def stop(self):
        self.ticker.stop()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._httpd.close_connections()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- Python control API ----------------------------------------------------------------
    def advance(self, blocks: int = 1) -> int:
        """Reveal ``blocks`` blocks on every shard now; returns the stream position."""
        return self.network.advance(blocks)

    def set_rate(self, blocks_per_second: float, events_per_block: float | None = None):
        if events_per_block is not None:
            self.network.stream.events_per_block = float(events_per_block)
        self.ticker.set_rate(blocks_per_second)

    def pause(self, paused: bool = True):
        self.ticker.pause(paused)

    def set_retention(self, seconds: float):
        with self.network.lock:
            self.network.stream.retention_seconds = float(seconds)
            self.network.stream._apply_retention()

    def set_revocation(self, rule: str):
        """What a signer removal does to its messages (stream.REVOCATION_RULES; default "keep")."""
        from .stream import REVOCATION_RULES

        if rule not in REVOCATION_RULES:
            raise ValueError(f"revocation must be one of {REVOCATION_RULES}, got {rule!r}")
        self.network.stream.revocation = rule

    def script(self, shard: int, action):
        """Run ``action(builder)`` in the next block of ``shard`` (see Stream.script)."""
        self.network.stream.script(shard, action)

    def set_hubble(self, enabled: bool):
        self.api.hubble = bool(enabled)

    @property
    def position(self) -> int:
        return self.network.position

    def ground_truth(self, roots=(), client_apps=(), at=None):
        return self.network.ground_truth(roots, client_apps, at)

    def status(self) -> dict:
        net, stream = self.network, self.network.stream
        with net.lock:
            return {"position": net.position, "block_rate": self.ticker.rate,
                    "events_per_block": stream.events_per_block, "retention_seconds": stream.retention_seconds,
                    "hubble": self.api.hubble, "num_fids": net.config.num_fids, "num_shards": net.num_shards,
                    "client_apps": net.plan.client_apps, "total_messages": net.total_messages,
                    "shards": {str(s): {"base_height": log.base_height, "max_height": log.height,
                                        "oldest_event_id": log.ids[log.start] if log.start < len(log.ids) else None,
                                        "total_events": log.total_events}
                               for s, log in stream.shards.items()},
                    "requests": self.requests, "messages_served": self.messages_served,
                    "faults": self.faults.snapshot()}

    # -- HTTP control API (/_sim/...) ------------------------------------------------------
    def control(self, method: str, path: str, q: dict, body: bytes) -> Response:
        def arg(name, default=None, cast=str):
            v = q.get(name, [None])[0]
            if v is None and body:
                try:
                    v = json.loads(body).get(name)
                except (ValueError, AttributeError):
                    v = None
            return default if v is None else cast(v)

        def ok(obj=None):
            return Response(200, json.dumps(obj if obj is not None else self.status()))

        def ints(name):
            v = arg(name, "")
            if isinstance(v, list):
                return [int(x) for x in v]
            return [int(x) for x in str(v).split(",") if x.strip()]

        try:
            if path == "/_sim/status":
                return ok()
            if path == "/_sim/advance":
                self.advance(arg("blocks", 1, int))
                return ok()
            if path == "/_sim/rate":
                self.set_rate(arg("blocks_per_second", self.ticker.rate, float), arg("events_per_block", None, float))
                return ok()
            if path == "/_sim/pause":
                self.pause(True)
                return ok()
            if path == "/_sim/resume":
                self.pause(False)
                return ok()
            if path == "/_sim/retention":
                self.set_retention(arg("seconds", cast=float))
                return ok()
            if path == "/_sim/mode":
                self.set_hubble(arg("hubble", "0") in ("1", "true", True, 1))
                return ok()
            if path == "/_sim/faults":
                if method == "DELETE":
                    self.faults.clear()
                elif body:
                    self.faults.configure(FaultConfig.from_dict(json.loads(body)))
                return ok(self.faults.snapshot())
            if path == "/_sim/faults/clear":
                self.faults.clear()
                return ok(self.faults.snapshot())
            if path == "/_sim/faults/once":
                params = json.loads(body) if body else {k: v[0] for k, v in q.items()}
                kind = params.pop("kind")
                count = int(params.pop("count", 1))
                prefix = params.pop("path_prefix", "/v1/")
                params = {k: (int(v) if str(v).isdigit() else v) for k, v in params.items()}
                self.faults.inject(kind, count, prefix, **params)
                return ok(self.faults.snapshot())
            if path == "/_sim/ground_truth":
                at = arg("at", None, int)
                gt = self.ground_truth(ints("roots"), ints("client_apps"), at)
                return ok(gt.to_dict())
        except (ValueError, KeyError, TypeError) as e:
            return Response(400, json.dumps({"error": "bad control request", "error_detail": str(e)}))
        return Response(404, "Not Found", "text/plain")
