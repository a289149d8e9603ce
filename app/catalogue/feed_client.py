"""HTTP client for the Promidata feed and image hosts: timeouts, size caps, retries with backoff.

Retries (tenacity) cover network errors, 5xx and 429; a 429's Retry-After is honoured, capped
by the backoff maximum. Other 4xx fail at once: retrying a 404 only delays the error.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.request import getproxies

import requests
from requests.adapters import HTTPAdapter
from tenacity import retry_if_exception

from app.catalogue.errors import FeedError, FeedTooLarge
from app.platform.http import BodyTooLarge, FetchPolicy, parse_retry_after, read_body

USER_AGENT = "Switchyard-Catalogue/0.1"


class _RetryableStatus(FeedError):
    """5xx or 429: worth another attempt."""

    def __init__(self, message: str, *, status: int, url: str, retry_after: float | None) -> None:
        super().__init__(message, status=status, url=url)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Fetched:
    url: str
    content: bytes
    content_type: str


def _is_transient(exc: BaseException) -> bool:
    return isinstance(exc, (_RetryableStatus, requests.ConnectionError, requests.Timeout,
                            requests.exceptions.ChunkedEncodingError))


class FeedClient:
    def __init__(self, *, timeout: float = 30, attempts: int = 3, backoff_max: float = 30,
                 backoff_initial: float = 1.0, pool_size: int = 64,  # a connection per upload thread
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.policy = FetchPolicy(connect_timeout=timeout, read_timeout=timeout, attempts=attempts,
                                  backoff_initial=backoff_initial, backoff_max=backoff_max)
        self.attempts = attempts
        self._sleep = sleep
        self.session = requests.Session()
        # Read proxy settings once, not per request (requests re-scans the environment and
        # ~/.netrc on every call when trust_env is on: measurable CPU at thousands of fetches).
        self.session.trust_env = False
        self.session.proxies.update({k: v for k, v in getproxies().items() if k in ("http", "https")})
        self.session.headers["User-Agent"] = USER_AGENT
        adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    @classmethod
    def from_settings(cls, settings: object | None = None) -> "FeedClient":
        from app.settings import get_settings

        s = settings or get_settings()
        return cls(timeout=s.catalogue_http_timeout_seconds, attempts=s.catalogue_http_attempts,  # type: ignore[attr-defined]
                   backoff_max=s.catalogue_http_backoff_max_seconds)  # type: ignore[attr-defined]

    def close(self) -> None:
        self.session.close()

    def get(self, url: str, *, max_bytes: int) -> Fetched:
        """GET url, retrying transient failures; raise FeedError with the URL and status on failure."""
        if not url.startswith(("http://", "https://")):
            raise FeedError(f"not an http(s) URL: {url!r}", url=url)
        retrying = self.policy.retrying(retry_if_exception(_is_transient), sleep=self._sleep)
        try:
            return retrying(self._get_once, url, max_bytes)
        except _RetryableStatus as exc:
            raise FeedError(f"{exc} (gave up after {self.attempts} attempts)", status=exc.status, url=url) from None
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
            raise FeedError(f"GET {url} failed after {self.attempts} attempts: {type(exc).__name__}: {exc}",
                            url=url) from None

    def _get_once(self, url: str, max_bytes: int) -> Fetched:
        with self.session.get(url, timeout=self.policy.timeout, stream=True) as response:
            status = response.status_code
            if status == 429 or status >= 500:
                raise _RetryableStatus(f"GET {url} answered {status}", status=status, url=url,
                                       retry_after=parse_retry_after(response.headers.get("Retry-After")))
            if status != 200:
                raise FeedError(f"GET {url} answered {status}", status=status, url=url)
            try:
                body = read_body(response, max_bytes)
            except BodyTooLarge as exc:
                raise FeedTooLarge(f"GET {url}: {exc}", url=url) from None
            content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
            return Fetched(url=url, content=body, content_type=content_type)


_client: FeedClient | None = None
_client_pid: int | None = None


def default_client() -> FeedClient:
    """One client (and connection pool) per process, rebuilt after a fork."""
    global _client, _client_pid
    if _client is None or _client_pid != os.getpid():
        _client, _client_pid = FeedClient.from_settings(), os.getpid()
    return _client
