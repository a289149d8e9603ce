"""Which URLs and addresses the analysis fetcher may contact.

Syntax is checked when a request is accepted, and a host name is resolved then (one that
resolves to a refused address, like localhost, is refused at once); addresses are checked
again at connect time (app.analysis.safe_transport), because a name can change its answer
after the request was accepted (DNS rebinding).
"""
from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048
ALLOWED_SCHEMES = ("http", "https")


class UnsafeURLError(ValueError):
    """The URL is malformed, not http(s), or points at an address we refuse to contact."""


def parse_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The host as an IP address, or None when it is a name."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def is_public_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Globally routable unicast only: no loopback, private, link-local (cloud metadata), CGNAT, multicast."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is loopback
    return address.is_global and not address.is_multicast


def check_address(host: str, *, allow_private: bool) -> None:
    """Raise UnsafeURLError if host is an IP address we must not contact."""
    address = parse_ip(host)
    if address is not None and not allow_private and not is_public_address(address):
        raise UnsafeURLError(f"refusing to fetch {host}: not a public address")


def check_host_name(host: str, *, allow_private: bool) -> None:
    """Raise UnsafeURLError if a host name resolves (now) to an address we must not contact. A
    name that does not resolve now is let through: the connect-time check decides later."""
    if allow_private or parse_ip(host) is not None:
        return
    name = host.rstrip(".").lower()
    if name.endswith(".localhost"):  # always loopback (RFC 6761), whatever the resolver says
        raise UnsafeURLError(f"refusing to fetch {host}: it is a loopback name")
    try:
        infos = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return
    for info in infos:
        address = parse_ip(str(info[4][0]).split("%", 1)[0])
        if address is not None and not is_public_address(address):
            raise UnsafeURLError(f"refusing to fetch {host}: it resolves to non-public address {address}")


def check_url(url: str, *, allow_private: bool) -> str:
    """Validate an http(s) URL's syntax (and a literal IP host); return it stripped."""
    url = url.strip()
    if not url:
        raise UnsafeURLError("url is empty")
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeURLError(f"url is longer than {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise UnsafeURLError("url contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError when out of range or not a number
    except ValueError as exc:
        raise UnsafeURLError(f"url is malformed: {exc}") from None
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise UnsafeURLError(f"url scheme must be http or https, got {parts.scheme or 'none'!r}")
    if not parts.hostname:
        raise UnsafeURLError("url has no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURLError("url must not contain credentials")
    if port == 0:
        raise UnsafeURLError("url port must be between 1 and 65535")
    try:
        parts.hostname.encode("idna")
    except UnicodeError:
        raise UnsafeURLError(f"url host {parts.hostname!r} is not a valid hostname") from None
    check_address(parts.hostname, allow_private=allow_private)
    check_host_name(parts.hostname, allow_private=allow_private)
    return url
