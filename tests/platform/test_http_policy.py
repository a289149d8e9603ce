"""The shared HTTP fetch policy: Retry-After in both forms, the jittered backoff's bounds, byte caps."""
from __future__ import annotations

import gzip
import io
import random
from datetime import datetime, timezone

import pytest
import requests
import urllib3

from app.platform.http import (BodyTooLarge, BodyTooSlow, FetchPolicy, backoff_delay, parse_retry_after,
                               read_body, read_body_at_once)

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)


def response(body: bytes, **headers: str) -> requests.Response:
    """A streamed requests response over an in-memory body (as the clients see one)."""
    result = requests.Response()
    result.status_code = 200
    result.raw = urllib3.HTTPResponse(body=io.BytesIO(body), headers=headers, preload_content=False,
                                      decode_content=False)
    result.headers = requests.structures.CaseInsensitiveDict(headers)
    return result


@pytest.mark.parametrize("value, seconds", [
    ("7", 7.0), (" 120 ", 120.0), ("0", 0.0), ("0.6", 0.6),  # delta-seconds (decimals from lenient servers)
    ("Thu, 01 Jan 2026 12:00:30 GMT", 30.0),  # IMF-fixdate
    ("Thursday, 01-Jan-26 12:01:00 GMT", 60.0),  # obsolete RFC 850 form
    ("Thu, 01 Jan 2026 11:00:00 GMT", 0.0),  # a past date: go now
    ("Thu, 01 Jan 2026 12:00:10 -0000", 10.0),  # no zone: an HTTP-date is GMT
])
def test_retry_after_in_seconds_and_as_an_http_date(value: str, seconds: float) -> None:
    assert parse_retry_after(value, now=NOW) == pytest.approx(seconds)


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "nan", "inf", "1e999", "Thu, 99 Foo 2026", "12 apples"])
def test_garbage_retry_after_is_ignored(value: str | None) -> None:
    assert parse_retry_after(value, now=NOW) is None


def test_retry_after_is_capped() -> None:
    assert parse_retry_after("86400", cap=30) == 30
    assert parse_retry_after("Fri, 02 Jan 2026 12:00:00 GMT", cap=30, now=NOW) == 30
    assert parse_retry_after("5", cap=30) == 5


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    rng = random.Random(7)
    for attempt, ceiling in ((1, 2.0), (2, 4.0), (3, 8.0), (6, 60.0), (10, 60.0)):
        delays = [backoff_delay(attempt, initial=2, cap=60, rng=rng) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 100  # jittered, not one value


def test_a_servers_retry_after_lengthens_the_wait_up_to_the_cap() -> None:
    policy = FetchPolicy(backoff_initial=0.1, backoff_max=5)
    assert 0.05 <= policy.delay(1) <= 0.1
    assert policy.delay(1, retry_after=3) == 3
    assert policy.delay(1, retry_after=600) == 5
    assert policy.timeout == (5.0, 10.0)


def test_the_retry_loop_waits_as_the_policy_says() -> None:
    from tenacity import retry_if_exception_type

    class Busy(Exception):
        retry_after = 2.0

    waits: list[float] = []
    calls = iter([Busy(), Busy(), "ok"])

    def call() -> str:
        value = next(calls)
        if isinstance(value, Exception):
            raise value
        return value

    policy = FetchPolicy(attempts=3, backoff_initial=0.01, backoff_max=10)
    assert policy.retrying(retry_if_exception_type(Busy), sleep=waits.append)(call) == "ok"
    assert waits == [2.0, 2.0]
    with pytest.raises(Busy):  # the attempts run out: the last error is raised as it is
        policy.retrying(retry_if_exception_type(Busy), sleep=waits.append)(lambda: (_ for _ in ()).throw(Busy()))


def test_a_declared_length_over_the_cap_is_refused_before_reading() -> None:
    body = io.BytesIO(b"x" * 200)
    result = response(b"", **{"Content-Length": "200"})
    result.raw = urllib3.HTTPResponse(body=body, headers={"Content-Length": "200"}, preload_content=False)
    with pytest.raises(BodyTooLarge, match="200 bytes exceeds the 100-byte cap") as caught:
        read_body(result, 100)
    assert caught.value.declared == 200 and body.tell() == 0
    with pytest.raises(BodyTooLarge):
        read_body_at_once(response(b"x" * 200, **{"Content-Length": "200"}), 100)


@pytest.mark.parametrize("read", [read_body, read_body_at_once])
def test_the_cap_counts_decoded_bytes_of_an_undeclared_or_compressed_body(read) -> None:
    assert read(response(b"x" * 100), 100) == b"x" * 100  # exactly the cap is fine
    with pytest.raises(BodyTooLarge, match="the body exceeds the 100-byte cap"):
        read(response(b"x" * 101), 100)
    bomb = gzip.compress(b"x" * 200_000)
    with pytest.raises(BodyTooLarge):
        read(response(bomb, **{"Content-Encoding": "gzip", "Content-Length": str(len(bomb))}), 10_000)
    assert read(response(gzip.compress(b"<p>hi</p>"), **{"Content-Encoding": "gzip"}), 100) == b"<p>hi</p>"


def test_a_download_past_its_deadline_is_cut() -> None:
    with pytest.raises(BodyTooSlow):
        read_body(response(b"x" * 10), 100, deadline=0.0)  # monotonic time is long past 0
