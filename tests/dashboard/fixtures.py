"""Shared fixtures of the dashboard tests (imported by the modules that use them)."""
from __future__ import annotations

import pytest


@pytest.fixture
def idle_maintenance(db, redis_client, worker_pools):
    """Empty queues and no maintenance worker (earlier tests may have left one running), so what a test
    puts in the maintenance queue's lists stays there; returns the Redis client."""
    worker_pools.stop("maintenance")
    return redis_client
