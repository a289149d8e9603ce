"""Opaque keyset cursors: the sort key of a page's last item, base64url-encoded JSON, tagged
with the list it belongs to. The next page continues strictly after that key (never OFFSET)."""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson

from app.farcaster.read_api.errors import bad_request

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_CURSOR_LENGTH = 200


@dataclass(frozen=True)
class TimeKey:
    """(timestamp, hash) of a row, newest first; ties broken by the higher hash first."""

    timestamp: datetime
    hash: bytes


@dataclass(frozen=True)
class RankKey:
    """(rank, hash) of a search hit, best first."""

    rank: float
    hash: bytes


def encode(kind: str, key: TimeKey | RankKey) -> str:
    if isinstance(key, TimeKey):
        value: float | int = (key.timestamp - EPOCH) // timedelta(microseconds=1)
    else:
        value = key.rank
    raw = orjson.dumps([kind, value, key.hash.hex()])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(kind: str, cursor: str | None, key_type: type[TimeKey] | type[RankKey] = TimeKey):
    """The key a cursor carries, or None for the first page; 400 naming `cursor` if it is not
    one this list handed out."""
    if cursor is None:
        return None
    try:
        kind_given, value, hash_hex = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        row_hash = bytes.fromhex(hash_hex)
        if kind_given != kind or isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError
        if key_type is TimeKey:
            if not isinstance(value, int):
                raise ValueError
            return TimeKey(EPOCH + timedelta(microseconds=value), row_hash)
        return RankKey(float(value), row_hash)
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError, OverflowError):
        raise bad_request("cursor", "not a cursor of this list (pass next_cursor from the previous page)") from None
