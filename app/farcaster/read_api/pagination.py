"""Keyset pages over (timestamp, hash), newest first: the SQL condition that continues after a
cursor's key, and the page with its next cursor."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.farcaster.read_api import cursor as cursors
from app.farcaster.read_api.cursor import TimeKey

DEFAULT_LIMIT = 25
MAX_LIMIT = 100


def after(alias: str, key: TimeKey | None, params: dict[str, Any]) -> str:
    """`AND ...` continuing strictly after ``key`` in (timestamp DESC, hash DESC) order. The
    timestamp bound stands alone so that a (…, timestamp) index serves it."""
    if key is None:
        return ""
    params["cursor_ts"], params["cursor_hash"] = key.timestamp, key.hash
    return (f" AND {alias}.timestamp <= :cursor_ts"
            f" AND ({alias}.timestamp < :cursor_ts OR {alias}.hash < :cursor_hash)")


def order(alias: str) -> str:
    return f" ORDER BY {alias}.timestamp DESC, {alias}.hash DESC"


def next_cursor(kind: str, rows: Sequence[Any], limit: int) -> str | None:
    """A cursor after the last of ``rows`` (fetched with ``limit + 1``) when there is more."""
    if len(rows) <= limit:
        return None
    last = rows[limit - 1]
    return cursors.encode(kind, TimeKey(last.timestamp, last.hash))
