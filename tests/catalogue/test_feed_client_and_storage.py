"""The feed client against the simulator (retries, Retry-After, fail-fast, size caps) and both stores."""
from __future__ import annotations

import threading
from typing import Any

import pytest

from app.catalogue.errors import FeedError, FeedTooLarge
from app.catalogue.feed_client import FeedClient
from app.catalogue.storage import LocalDirectoryStore


def client(**kwargs: Any) -> FeedClient:
    return FeedClient(**{"timeout": 5, "attempts": 3, "backoff_max": 2, "backoff_initial": 0.05, **kwargs})


def test_retries_5xx_then_succeeds(feed: Any) -> None:
    feed.faults.update(fail_next={"Import.txt": [503, 502]})
    fetched = client().get(feed.import_url, max_bytes=1 << 20)
    assert fetched.content.startswith(b"http://127.0.0.1")
    assert feed.requests["import"] == 3


def test_429_waits_for_retry_after(feed: Any) -> None:
    feed.faults.update(fail_next={"Import.txt": [429]}, retry_after_seconds=0.6)
    waits: list[float] = []
    client(sleep=waits.append).get(feed.import_url, max_bytes=1 << 20)
    assert waits == [0.6] and feed.requests["import"] == 2


def test_gives_up_after_the_attempts_and_names_the_url(feed: Any) -> None:
    feed.faults.update(fail_next={"Import.txt": [500, 500, 500]})
    with pytest.raises(FeedError, match=r"answered 500 \(gave up after 3 attempts\)") as info:
        client().get(feed.import_url, max_bytes=1 << 20)
    assert info.value.status == 500 and info.value.url == feed.import_url


def test_other_4xx_fail_fast(feed: Any) -> None:
    with pytest.raises(FeedError, match="answered 404"):
        client().get(feed.url + "/Profiles/nothing.json", max_bytes=1024)
    assert feed.requests["family"] == 1


def test_size_cap(feed: Any) -> None:
    with pytest.raises(FeedTooLarge, match="exceeds the 100-byte cap"):
        client().get(feed.import_url, max_bytes=100)


def test_local_store_conditional_put_under_concurrency(tmp_path: Any) -> None:
    store = LocalDirectoryStore(tmp_path)
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def put() -> None:
        barrier.wait()
        results.append(store.put_if_absent("images/ab/abc.png", b"bytes", "image/png"))

    threads = [threading.Thread(target=put) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]
    assert store.get("images/ab/abc.png") == b"bytes" and store.keys() == ["images/ab/abc.png"]
    with pytest.raises(ValueError, match="escapes"):
        store.put_if_absent("../outside", b"x", "image/png")


def test_s3_store_if_none_match(s3_store: Any) -> None:
    assert s3_store.put_if_absent("images/aa/one.jpg", b"first", "image/jpeg") is True
    assert s3_store.put_if_absent("images/aa/one.jpg", b"second", "image/jpeg") is False
    assert s3_store.get("images/aa/one.jpg") == b"first"  # never overwritten
    assert s3_store.exists("images/aa/one.jpg") and not s3_store.exists("images/aa/two.jpg")
    head = s3_store.client.head_object(Bucket=s3_store.bucket, Key="images/aa/one.jpg")
    assert head["ContentType"] == "image/jpeg"
