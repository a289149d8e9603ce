"""Multi-host fixtures: one cluster per module (starting 20 workers costs most of the time)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.multihost.netns import unavailable


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/multihost/" in str(item.fspath):
            item.add_marker(pytest.mark.multihost)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    from tests.multihost.cluster import Cluster

    cluster = Cluster(tmp_path_factory.mktemp("cluster"))
    try:
        yield cluster
    finally:
        cluster.close()
