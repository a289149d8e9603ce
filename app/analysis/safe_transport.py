"""A requests session that connects only to permitted addresses.

The check runs inside the connection: the hostname is resolved once, every
answer is checked, and the socket connects to those checked addresses, so DNS
rebinding and redirects to internal hosts are refused too. TLS still verifies
the certificate against the hostname (urllib3 uses ``host`` for SNI, and
``_dns_host`` only to connect).
"""
from __future__ import annotations

import socket

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NameResolutionError

from app.analysis.url_safety import is_public_address, parse_ip


class BlockedAddressError(Exception):
    """The host resolved to an address the fetcher must not contact (not an OSError: never retried)."""


def resolve_permitted(host: str, port: int, *, allow_private: bool) -> list[str]:
    """All addresses of host, or BlockedAddressError when any of them is not public."""
    infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not allow_private:
        for address in addresses:
            ip = parse_ip(address.split("%", 1)[0])
            if ip is None or not is_public_address(ip):
                raise BlockedAddressError(f"refusing to fetch {host}: it resolves to non-public address {address}")
    return addresses


class _CheckedConnectionMixin:
    allow_private = False

    def _new_conn(self) -> socket.socket:  # type: ignore[override]
        host: str = self._dns_host  # type: ignore[has-type]
        try:
            addresses = resolve_permitted(host, self.port, allow_private=self.allow_private)  # type: ignore[attr-defined]
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc  # type: ignore[attr-defined, arg-type]
        last_error: Exception | None = None
        for address in addresses:
            self._dns_host = address  # connect to the checked address, no second lookup
            try:
                return super()._new_conn()  # type: ignore[misc]
            except OSError as exc:  # urllib3's connection errors are OSErrors: try the next address
                last_error = exc
            finally:
                self._dns_host = host
        assert last_error is not None
        raise last_error


def checked_session(*, allow_private: bool, max_redirects: int) -> requests.Session:
    """A session whose every connection (redirects included) passes the address check."""

    class Connection(_CheckedConnectionMixin, HTTPConnection):
        pass

    class TLSConnection(_CheckedConnectionMixin, HTTPSConnection):
        pass

    Connection.allow_private = TLSConnection.allow_private = allow_private

    class Pool(HTTPConnectionPool):
        ConnectionCls = Connection

    class TLSPool(HTTPSConnectionPool):
        ConnectionCls = TLSConnection

    class Adapter(HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {"http": Pool, "https": TLSPool}

    session = requests.Session()
    session.trust_env = False  # no proxies or .netrc from the environment: connect directly, checked
    session.max_redirects = max_redirects
    adapter = Adapter(max_retries=0)  # retries are the task's job, with backoff
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
