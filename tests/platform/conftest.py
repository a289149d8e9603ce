from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture
def reread_settings() -> Iterator[None]:
    """Settings are read once per process; let a test read them again from its patched env."""
    from app.settings import get_settings

    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
