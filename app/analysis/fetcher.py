"""Download one page with timeouts, a size cap and the address policy.

Errors are split in two: NetworkError (worth retrying: connection failures,
timeouts, 429 and 5xx answers) and PageRefusedError (retrying cannot help: bad
URL, blocked address, 4xx, too large, not HTML).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import requests

from app.analysis.safe_transport import BlockedAddressError, checked_session
from app.analysis.url_safety import UnsafeURLError, check_url
from app.platform.http import BodyTooLarge, BodyTooSlow, FetchPolicy, parse_retry_after, read_body

HTML_TYPES = ("text/html", "application/xhtml+xml")


class FetchError(Exception):
    transient = False


class NetworkError(FetchError):
    """The page could not be fetched now; a later attempt may succeed."""

    transient = True

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after  # seconds the server asked us to wait (Retry-After), if any


class PageRefusedError(FetchError):
    """The page cannot be analysed; retrying would give the same answer."""


@dataclass(frozen=True)
class FetchLimits:
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    total_timeout: float = 30.0
    max_bytes: int = 3 * 1024 * 1024
    max_redirects: int = 5
    user_agent: str = "SwitchyardAnalysis/0.1"
    allow_private: bool = False

    @property
    def policy(self) -> FetchPolicy:
        """Timeouts for one try: retries are the task's (app.platform.retry)."""
        return FetchPolicy(connect_timeout=self.connect_timeout, read_timeout=self.read_timeout, attempts=1)

    @classmethod
    def from_settings(cls, settings) -> "FetchLimits":  # type: ignore[no-untyped-def]
        return cls(
            connect_timeout=settings.analysis_fetch_connect_timeout,
            read_timeout=settings.analysis_fetch_read_timeout,
            total_timeout=settings.analysis_fetch_total_timeout,
            max_bytes=settings.analysis_fetch_max_bytes,
            max_redirects=settings.analysis_fetch_max_redirects,
            user_agent=settings.analysis_user_agent,
            allow_private=settings.analysis_allow_private_addresses,
        )


@dataclass(frozen=True)
class FetchedPage:
    requested_url: str
    url: str  # after redirects
    status: int
    headers: dict[str, str]  # lower-case names
    set_cookie_names: tuple[str, ...]
    body: bytes
    charset: str | None
    elapsed_seconds: float
    redirects: int = 0


def _charset(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            return value.strip("\"' ") or None
    return None


def _cookie_names(response: requests.Response) -> tuple[str, ...]:
    raw = getattr(response.raw, "headers", None)
    values = raw.getlist("set-cookie") if raw is not None and hasattr(raw, "getlist") else []
    return tuple(dict.fromkeys(v.split("=", 1)[0].strip() for v in values if "=" in v))


def _check_response(response: requests.Response, limits: FetchLimits) -> None:
    status = response.status_code
    if status == 429 or status >= 500:
        raise NetworkError(f"HTTP {status} from {response.url}",
                           retry_after=parse_retry_after(response.headers.get("retry-after")))
    if status >= 400:
        raise PageRefusedError(f"HTTP {status} from {response.url}")
    if status >= 300:
        raise PageRefusedError(f"HTTP {status} redirect without a usable Location from {response.url}")
    content_type = response.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type and media_type not in HTML_TYPES:
        raise PageRefusedError(f"{response.url} is {media_type}, not an HTML page")


def _read_body(response: requests.Response, limits: FetchLimits, started: float) -> bytes:
    try:
        return read_body(response, limits.max_bytes, deadline=started + limits.total_timeout)
    except BodyTooLarge as exc:
        size = f"{exc.declared} bytes, over" if exc.declared is not None else "larger than"
        raise PageRefusedError(f"{response.url} is {size} the {limits.max_bytes}-byte limit") from None
    except BodyTooSlow:
        raise NetworkError(f"{response.url} took longer than {limits.total_timeout:g}s to download") from None


def fetch(url: str, limits: FetchLimits) -> FetchedPage:
    """GET url (following checked redirects) and return its HTML, or raise a FetchError."""
    try:
        url = check_url(url, allow_private=limits.allow_private)
    except UnsafeURLError as exc:
        raise PageRefusedError(str(exc)) from None
    started = time.monotonic()
    session = checked_session(allow_private=limits.allow_private, max_redirects=limits.max_redirects)
    headers = {"User-Agent": limits.user_agent, "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"}
    try:
        with session.get(url, headers=headers, stream=True,
                         timeout=limits.policy.timeout) as response:
            _check_response(response, limits)
            body = _read_body(response, limits, started)
            return FetchedPage(
                requested_url=url,
                url=response.url,
                status=response.status_code,
                headers={k.lower(): v for k, v in response.headers.items()},
                set_cookie_names=_cookie_names(response),
                body=body,
                charset=_charset(response.headers.get("content-type", "")),
                elapsed_seconds=round(time.monotonic() - started, 3),
                redirects=len(response.history),
            )
    except BlockedAddressError as exc:
        raise PageRefusedError(str(exc)) from None
    except requests.TooManyRedirects:
        raise PageRefusedError(f"{url} redirected more than {limits.max_redirects} times") from None
    except (requests.exceptions.InvalidSchema, requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema) as exc:
        raise PageRefusedError(f"cannot fetch {url}: {exc}") from None
    except requests.exceptions.ContentDecodingError as exc:
        raise PageRefusedError(f"{url} sent a body that does not decode: {exc}") from None
    except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
        raise NetworkError(f"network error fetching {url}: {type(exc).__name__}: {exc}") from None
    finally:
        session.close()
