"""HTTP client for Snapchain (and Hubble) hubs: timeouts, retries with backoff on 5xx, network
errors and unreadable bodies, 429 honouring Retry-After, failover across several hub URLs,
an optional API key header and a shared request-rate limit.

A request that keeps failing raises HubUnavailable; a 4xx raises HubRequestError; a body
that is not the JSON object the endpoint defines raises HubDataError - callers parse a whole
page before storing any of it, so a bad response stores nothing.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import orjson
import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from tenacity import retry_if_exception_type

from app.farcaster.messages import HubDataError
from app.farcaster.rate_limit import RateLimiter
from app.platform.http import BodyTooLarge, FetchPolicy, parse_retry_after, read_body_at_once

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024 * 1024  # a full page of 1000 large casts is a few MB: past this the hub misbehaves


class HubError(Exception):
    pass


class HubUnavailable(HubError):
    """Every attempt failed (5xx, 429, timeouts, resets, malformed bodies)."""


class HubRequestError(HubError):
    """The hub refused the request (4xx other than 429): retrying will not help."""


class _Transient(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class HubClient:
    def __init__(self, urls: list[str] | str, *, api_key: str | None = None, api_key_header: str = "x-api-key",
                 timeout: float = 10, attempts: int = 6, backoff_max: float = 10, backoff_initial: float = 0.1,
                 limiter: RateLimiter | None = None, page_size: int = 1000, max_bytes: int = MAX_BODY_BYTES,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if isinstance(urls, str):
            urls = [u.strip() for u in urls.split(",") if u.strip()]
        if not urls or any(not u.startswith(("http://", "https://")) for u in urls):
            raise ValueError(f"hub URLs must be http(s) URLs, got {urls!r}")
        self.urls = [u.rstrip("/") for u in urls]
        self.policy = FetchPolicy(connect_timeout=timeout, read_timeout=timeout, attempts=attempts,
                                  backoff_initial=backoff_initial, backoff_max=backoff_max)
        self.timeout = self.policy.timeout
        self.attempts = attempts
        self.max_bytes = max_bytes
        self._sleep = sleep
        self.limiter = limiter
        self.page_size = page_size
        self._local = threading.local()
        self._headers = {"Accept": "application/json"}
        if api_key:
            self._headers[api_key_header] = api_key
        self._preferred = 0  # index of the URL that last answered

    @property
    def transport(self) -> HTTPAdapter:
        """This thread's connection pool (requests' HTTPAdapter; one per thread, as requests'
        sessions are not thread-safe)."""
        adapter = getattr(self._local, "adapter", None)
        if adapter is None:
            adapter = self._local.adapter = HTTPAdapter(pool_connections=len(self.urls), pool_maxsize=1)
        return adapter

    def _request(self, url: str) -> requests.PreparedRequest:
        # Built directly and sent on the adapter: a Session's per-call merging of environment,
        # cookies, hooks and params, and its redirect handling, cost more CPU than the rest of a
        # short hub call (the headers are fixed; a hub does not redirect).
        request = requests.PreparedRequest()
        request.method, request.url, request.body = "GET", url, None
        request.headers = CaseInsensitiveDict(self._headers)
        request.hooks = {"response": []}
        return request

    def _once(self, base: str, path: str, query: str, params: dict) -> Any:
        """One attempt against ``base``: the decoded JSON object, or _Transient to retry."""
        if self.limiter is not None:
            self.limiter.acquire()
        try:
            response = self.transport.send(self._request(base + path + query), timeout=self.timeout, stream=True)
            # The body in one read (Response.content reads it in 10 kB chunks through several
            # layers); a body cut short raises here, as a transient failure. A full read
            # returns the connection to the pool.
            content = read_body_at_once(response, self.max_bytes)
        except BodyTooLarge as exc:
            raise HubDataError(f"{base}{path}: {exc}") from None
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
                urllib3.exceptions.HTTPError) as exc:
            raise _Transient(f"{base}{path}: {type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if status == 429:
            retry_after = response.headers.get("Retry-After")
            raise _Transient(f"{base}{path}: 429 rate limited (Retry-After {retry_after})",
                             parse_retry_after(retry_after))
        if status >= 500:
            raise _Transient(f"{base}{path}: HTTP {status}")
        if status >= 300:  # 3xx too: hubs do not redirect, and a redirect is not followed
            raise HubRequestError(f"{base}{path} {params}: HTTP {status}: {content[:300].decode(errors='replace')}")
        try:
            body = orjson.loads(content)  # hub pages are large: decoding is the poller's main cost
        except ValueError as exc:  # truncated or garbled: often transient, never stored
            raise _Transient(f"{base}{path}: malformed JSON body ({exc})") from exc
        if not isinstance(body, dict):
            raise HubDataError(f"{base}{path}: expected a JSON object, got {type(body).__name__}")
        return body

    def get(self, path: str, **params: Any) -> Any:
        """GET ``path`` and return the decoded JSON object, retrying and failing over."""
        query = "?" + urlencode(params) if params else ""
        preferred = self._preferred
        try:  # the usual case, without building a retry loop
            return self._once(self.urls[preferred], path, query, params)
        except _Transient as exc:
            failures = [exc]
        attempt_no = 0

        def attempt() -> Any:
            nonlocal attempt_no
            attempt_no += 1
            if failures:  # tenacity's first attempt is the one that just failed: it waits as for any other
                raise failures.pop()
            index = (preferred + attempt_no - 1) % len(self.urls)
            body = self._once(self.urls[index], path, query, params)
            self._preferred = index
            return body

        retrying = self.policy.retrying(retry_if_exception_type(_Transient), sleep=self._sleep)
        try:
            return retrying(attempt)
        except _Transient as exc:
            raise HubUnavailable(f"hub request failed after {self.attempts} attempts: {exc}") from exc

    # --- endpoints ------------------------------------------------------------------------
    def info(self) -> dict:
        return self.get("/v1/info")

    def paged(self, path: str, list_key: str, **params: Any) -> Iterator[list]:
        """Yield each page's list until ``nextPageToken`` is missing or empty."""
        token = None
        while True:
            query = dict(params, pageSize=self.page_size)
            if token:
                query["pageToken"] = token
            body = self.get(path, **query)
            items = body.get(list_key)
            if not isinstance(items, list):
                raise HubDataError(f"{path}: response without a {list_key!r} list: {str(body)[:200]}")
            yield items
            token = body.get("nextPageToken")
            if token is not None and not isinstance(token, str):
                raise HubDataError(f"{path}: nextPageToken is not a string: {token!r}")
            if not token:
                return

    def events(self, shard_index: int | None, from_event_id: int, page_size: int = 1000) -> dict:
        params: dict[str, Any] = {"from_event_id": from_event_id}
        if shard_index is not None:
            params["shard_index"] = shard_index
            params["pageSize"] = page_size
        body = self.get("/v1/events", **params)
        if not isinstance(body.get("events"), list):
            raise HubDataError(f"/v1/events: response without an 'events' list: {str(body)[:200]}")
        return body


def default_client() -> HubClient:
    from app.farcaster.target_cache import cache_client
    from app.settings import get_settings

    s = get_settings()
    return HubClient(s.hub_urls, api_key=s.hub_api_key, api_key_header=s.hub_api_key_header,
                     timeout=s.hub_timeout_seconds, attempts=s.hub_attempts, backoff_max=s.hub_backoff_max_seconds,
                     limiter=RateLimiter(cache_client(), s.hub_requests_per_second), page_size=s.hub_page_size)
