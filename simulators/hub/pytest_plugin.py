"""Pytest fixtures for other test suites: ``pytest_plugins = ["simulators.hub.pytest_plugin"]``.

``hub_sim`` is a small, manually-advanced simulated Snapchain hub (fresh per test)."""
from __future__ import annotations

import pytest

from .testing import running_hub


@pytest.fixture
def hub_sim():
    with running_hub(num_fids=120, seed=7, retention_seconds=3 * 24 * 3600) as hub:
        yield hub
