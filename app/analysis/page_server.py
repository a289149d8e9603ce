"""A small local HTTP server of HTML pages, for the demo workload and the tests.

Routes map a path to a handler returning (status, headers, body), or None to
drop the connection; a handler may block (tests hold a page open to keep a
worker busy). Binds 127.0.0.1 unless told otherwise.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Response = tuple[int, dict[str, str], bytes]
Handler = Callable[[], Response | None]  # None: drop the connection without an answer


def html(body: str, status: int = 200, **headers: str) -> Response:
    return status, {"Content-Type": "text/html; charset=utf-8", **headers}, body.encode()


class PageServer:
    def __init__(self, routes: dict[str, Handler] | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.routes: dict[str, Handler] = dict(routes or {})
        self.hits: dict[str, int] = {}
        self._lock = threading.Lock()
        server = self

        class RequestHandler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                path = self.path.split("?", 1)[0]
                with server._lock:
                    server.hits[path] = server.hits.get(path, 0) + 1
                handler = server.routes.get(path)
                response = handler() if handler else html("<h1>not found</h1>", 404)
                if response is None:  # simulate a network failure: close without answering
                    self.close_connection = True
                    return
                status, headers, body = response
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass  # quiet: tests and the demo print what matters

        self._httpd = ThreadingHTTPServer((host, port), RequestHandler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="page-server", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def start(self) -> "PageServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> "PageServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
