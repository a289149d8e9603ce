"""URL safety and the fetcher against a real local HTTP server (no Celery, no database)."""
from __future__ import annotations

import gzip

import pytest

from app.analysis.fetcher import FetchLimits, NetworkError, PageRefusedError, fetch
from app.analysis.page_server import html
from app.analysis.request import InvalidRequestError, parse_request
from app.analysis.url_safety import UnsafeURLError, check_url

LOCAL = FetchLimits(allow_private=True, connect_timeout=2, read_timeout=2, total_timeout=5, max_bytes=10_000)


@pytest.mark.parametrize("url, problem", [
    ("ftp://example.com/", "scheme must be http or https"),
    ("file:///etc/passwd", "scheme must be http or https"),
    ("javascript:alert(1)", "scheme must be http or https"),
    ("http://", "no host"),
    ("https://user:secret@example.com/", "must not contain credentials"),
    ("http://example.com:99999/", "malformed"),
    ("http://exa mple.com/", "whitespace"),
    ("http://127.0.0.1/", "not a public address"),
    ("http://10.1.2.3/", "not a public address"),
    ("http://192.168.1.1/", "not a public address"),
    ("http://169.254.169.254/latest/meta-data", "not a public address"),
    ("http://[::1]:8080/", "not a public address"),
    ("http://[::ffff:10.0.0.1]/", "not a public address"),
    ("http://0.0.0.0/", "not a public address"),
    ("http://" + "a" * 2050 + ".com/", "longer than"),
])
def test_unsafe_urls_are_refused_with_the_reason(url, problem):
    with pytest.raises(UnsafeURLError, match=problem):
        check_url(url, allow_private=False)


def test_public_and_named_hosts_pass_the_syntax_check():
    assert check_url(" https://example.com/a?b=1 ", allow_private=False) == "https://example.com/a?b=1"
    assert check_url("http://93.184.215.14/", allow_private=False) == "http://93.184.215.14/"
    assert check_url("http://127.0.0.1:8000/", allow_private=True) == "http://127.0.0.1:8000/"


@pytest.mark.parametrize("url", ["http://localhost:8000/", "http://LOCALHOST./x", "http://app.localhost/"])
def test_a_name_resolving_to_a_refused_address_is_refused_at_submit(url):
    with pytest.raises(UnsafeURLError, match="non-public address|loopback name"):
        check_url(url, allow_private=False)
    assert check_url(url, allow_private=True) == url


def test_a_name_resolving_to_loopback_is_refused_at_connect_time(pages):
    pages.routes["/"] = lambda: html("<title>secret</title>")
    url = pages.url("/").replace("127.0.0.1", "localhost")  # passes the syntax check; resolves to 127.0.0.1
    with pytest.raises(PageRefusedError, match="resolves to non-public address"):
        fetch(url, FetchLimits(allow_private=False))
    assert pages.hits == {}  # never connected


def test_fetch_follows_redirects_and_keeps_headers_and_cookies(pages):
    pages.routes["/old"] = lambda: (301, {"Location": "/new"}, b"")
    pages.routes["/new"] = lambda: html("<title>New</title>", **{"Set-Cookie": "csrftoken=abc; Path=/"})
    page = fetch(pages.url("/old"), LOCAL)
    assert (page.url, page.status, page.redirects) == (pages.url("/new"), 200, 1)
    assert page.set_cookie_names == ("csrftoken",)
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert b"<title>New</title>" in page.body


@pytest.mark.parametrize("route, error, message", [
    (lambda: html("<p>gone</p>", 404), PageRefusedError, "HTTP 404"),
    (lambda: html("<p>x</p>" * 2000), PageRefusedError, "over the 10000-byte limit"),
    (lambda: (200, {"Content-Type": "image/png"}, b"\x89PNG"), PageRefusedError, "image/png, not an HTML page"),
    (lambda: (302, {"Location": "/page"}, b""), PageRefusedError, "redirected more than"),
    (lambda: (302, {"Location": "ftp://example.com/"}, b""), PageRefusedError, "cannot fetch"),
    (lambda: html("<p>busy</p>", 503), NetworkError, "HTTP 503"),
    (lambda: html("<p>slow down</p>", 429), NetworkError, "HTTP 429"),
    (lambda: None, NetworkError, "network error"),
])
def test_fetch_errors_say_what_went_wrong_and_whether_to_retry(pages, route, error, message):
    pages.routes["/page"] = route
    with pytest.raises(error, match=message):
        fetch(pages.url("/page"), LOCAL)


def test_retry_after_is_read_from_429_and_503_answers(pages):
    pages.routes["/page"] = lambda: html("<p>slow down</p>", 429, **{"Retry-After": "7"})
    with pytest.raises(NetworkError) as caught:
        fetch(pages.url("/page"), LOCAL)
    assert caught.value.retry_after == 7.0


def test_an_unanswered_connection_is_a_network_error():
    with pytest.raises(NetworkError, match="network error"):
        fetch("http://127.0.0.1:1/", LOCAL)  # nothing listens on port 1


def test_a_compressed_body_is_capped_by_its_decoded_size(pages):
    # A small gzip body passes the Content-Length check; its 200 kB of decoded HTML must not.
    bomb = gzip.compress(b"<p>" + b"x" * 200_000)
    pages.routes["/page"] = lambda: (200, {"Content-Type": "text/html", "Content-Encoding": "gzip"}, bomb)
    assert len(bomb) < LOCAL.max_bytes
    with pytest.raises(PageRefusedError, match="larger than the 10000-byte limit"):
        fetch(pages.url("/page"), LOCAL)


def test_request_validation_names_every_bad_field():
    with pytest.raises(InvalidRequestError) as caught:
        parse_request({"tool_id": "", "url": "gopher://x", "priority": "urgent"}, allow_private=False)
    assert [name for name, _ in caught.value.fields] == ["tool_id", "priority"]
    with pytest.raises(InvalidRequestError, match="url: url scheme must be http or https"):
        parse_request({"tool_id": "x", "url": "gopher://x"}, allow_private=False)
    with pytest.raises(InvalidRequestError, match="request: give a url or a description"):
        parse_request({"tool_id": "x", "description": "   "}, allow_private=False)
    with pytest.raises(InvalidRequestError, match="description: must not contain control characters"):
        parse_request({"tool_id": "x", "description": "a\x00b"}, allow_private=False)
    ok = parse_request({"tool_id": "x", "description": " an editor\n"}, allow_private=False)
    assert (ok.description, ok.priority, ok.url) == ("an editor", "normal", None)
