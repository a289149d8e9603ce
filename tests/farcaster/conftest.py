"""Farcaster fixtures: the database and test Redis, and an Indexer wired to a simulated hub."""
from __future__ import annotations

import pytest

from simulators.hub.pytest_plugin import hub_sim  # noqa: F401  (a fresh 120-fid hub per test)


@pytest.fixture
def engine(db):
    from app.db import get_engine

    return get_engine()


@pytest.fixture
def cache_redis(redis_client):
    """The test Redis db without leftovers of the indexer's own keys."""
    for key in redis_client.scan_iter("farcaster:*"):
        redis_client.delete(key)
    return redis_client
