"""HTTP server for the simulated feed, bound to 127.0.0.1 (port 0 picks a free port).

Feed paths mirror Promidata's: ``/Profiles/Live/{guid}/Import/Import.txt``, ``.../CAT.csv``,
``.../{A-code}/{Sku}.json`` and ``/Images/LiveR2/{guid}/{64-hex}.{jpg,png}``. Control
endpoints live under ``/_sim/`` (JSON): ``GET state``, ``GET ground-truth``, ``POST change``,
``POST remove``, ``POST restore``, ``POST faults``.
"""
from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from .faults import Faults
from .images import image_file
from .model import IMAGE_HOST_PATH, PROFILE_PATH, FeedModel

HOST = "127.0.0.1"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: workers reuse connections
    server_version = "promidata-sim"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes: without this, Nagle + delayed ACK add ~40 ms per response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        sim: PromidataServer = self.server.sim  # type: ignore[attr-defined]
        path = urlsplit(self.path).path
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if path.startswith("/_sim/"):
            status, payload = sim.control(self.command, path[len("/_sim/"):], body)
            return self._send(status, json.dumps(payload, default=sorted).encode(), "application/json")
        sim.count_request(path)
        if sim.faults.latency_seconds:
            time.sleep(sim.faults.latency_seconds)
        scripted = sim.faults.scripted_status(path)
        if scripted:
            headers = {"Retry-After": f"{sim.faults.retry_after_seconds:g}"} if scripted == 429 else {}
            return self._send(scripted, b"simulated fault", "text/plain", headers)
        status, data, content_type = sim.resolve(path)
        self._send(status, data, content_type)

    def _send(self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # many workers connect at once in the bench


class PromidataServer:
    """The feed on a real socket. ``.import_url`` is what the pipeline is pointed at."""

    def __init__(self, model: FeedModel | None = None, *, port: int = 0, faults: Faults | None = None,
                 host: str = HOST) -> None:
        self.model = model or FeedModel()
        self.faults = faults or Faults()
        self._httpd = _Server((host, port), _Handler)
        self._httpd.sim = self  # type: ignore[attr-defined]
        self.port = self._httpd.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self.model.base_url = self.url
        self.requests: dict[str, int] = {}
        self._count_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def import_url(self) -> str:
        return f"{self.url}{PROFILE_PATH}/Import/Import.txt"

    def start(self) -> "PromidataServer":
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="promidata-sim", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def count_request(self, path: str) -> None:
        kind = ("image" if path.startswith(IMAGE_HOST_PATH) else "family" if path.endswith(".json")
                else "import" if path.endswith("/Import.txt") else "categories" if path.endswith("/CAT.csv")
                else "other")
        with self._count_lock:
            self.requests[kind] = self.requests.get(kind, 0) + 1

    # --- feed ----------------------------------------------------------------------------
    def resolve(self, path: str) -> tuple[int, bytes, str]:
        if path == f"{PROFILE_PATH}/Import/Import.txt":
            text = self.model.import_txt(self.faults.junk_lines, self.faults.bad_hash_lines,
                                         self.faults.duplicate_lines)
            return 200, text.encode(), "text/plain; charset=utf-8"
        if path == f"{PROFILE_PATH}/CAT.csv":
            return 200, self.model.cat_csv().encode(), "text/csv; charset=utf-8"
        if path.startswith(IMAGE_HOST_PATH + "/"):
            name = path.rsplit("/", 1)[1]
            found = image_file(name)
            if found is None:
                return 404, b"not found", "text/plain"
            data, content_type = found
            if self.faults.cut_image(name):
                data = data[: len(data) * 2 // 3]  # a truncated object: 200, its own (short) Content-Length
            return 200, data, content_type
        if path.startswith(PROFILE_PATH + "/") and path.endswith(".json"):
            sku = path.rsplit("/", 1)[1][: -len(".json")]
            if not self.model.is_live(sku):
                return 404, b"not found", "text/plain"
            data = self.model.family_bytes(sku)
            if sku in self.faults.malformed:
                data = data[: len(data) // 2]  # a truncated upload, as a half-written file would be
            return 200, data, "application/json"
        return 404, b"not found", "text/plain"

    # --- control -------------------------------------------------------------------------
    def control(self, method: str, action: str, body: bytes) -> tuple[int, object]:
        try:
            payload = json.loads(body) if body else {}
            if method == "GET" and action == "state":
                return 200, self.state()
            if method == "GET" and action == "ground-truth":
                truth = self.model.ground_truth(payload.get("supplier"))
                truth["images"] = len(truth.pop("image_urls"))
                truth["imprint_images"] = len(truth.pop("imprint_image_urls"))
                return 200, truth
            if method == "POST" and action in ("change", "remove"):
                skus = payload.get("skus") or self.pick(payload.get("supplier"), int(payload.get("count", 1)))
                (self.model.change_families if action == "change" else self.model.remove_families)(skus)
                return 200, {action + "d": skus}
            if method == "POST" and action == "restore":
                self.model.restore_families(payload.get("skus"))
                return 200, self.state()
            if method == "POST" and action == "faults":
                self.faults.update(**payload)
                return 200, self.faults.to_dict()
        except (KeyError, ValueError, TypeError) as exc:
            return 400, {"error": str(exc)}
        return 404, {"error": f"unknown control {method} /_sim/{action}"}

    def pick(self, supplier: str | None, count: int) -> list[str]:
        """The first `count` live families (of one supplier): a deterministic choice for tests."""
        return self.model.live_skus(supplier)[:count]

    def state(self) -> dict:
        return {"import_url": self.import_url, "families": len(self.model.live_skus()),
                "removed": sorted(self.model.removed), "changed": dict(self.model.revisions),
                "requests": dict(self.requests), "faults": self.faults.to_dict()}
