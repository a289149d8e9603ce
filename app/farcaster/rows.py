"""The row layout of each Farcaster message table, defined once.

Each NamedTuple's fields are its table's columns after the base ones (hash, fid, timestamp,
signer), in the order the processor COPYs them; the parsers build these rows, the processor,
the staged form and the graph code read them by name. tests/farcaster/test_row_layout.py checks
them against the SQLAlchemy models.
"""
from __future__ import annotations

import typing
from typing import Any, NamedTuple

BASE_COLUMNS = ("hash", "fid", "timestamp", "signer")
STATE_COLUMNS = ("deleted_at", "deleted_by", "pruned_at", "revoked_at")


class CastRow(NamedTuple):
    text: str
    cast_type: str
    parent_fid: int | None
    parent_hash: bytes | None
    parent_url: str | None
    mentions: list[int]
    mentions_positions: list[int]
    embeds: list[dict[str, Any]]  # JSON-encoded when written


class CastRemoveRow(NamedTuple):
    target_hash: bytes


class ReactionRow(NamedTuple):
    message_type: int
    reaction_type: int
    target_cast_fid: int | None
    target_cast_hash: bytes | None
    target_url: str | None


class LinkRow(NamedTuple):
    message_type: int
    link_type: str
    target_fid: int
    display_timestamp: int | None


class VerificationRow(NamedTuple):
    message_type: int
    address: bytes
    protocol: str
    claim_signature: bytes | None
    block_hash: bytes | None
    verification_type: int | None
    chain_id: int | None


class UserDataRow(NamedTuple):
    user_data_type: str
    value: str


# table (without the farcaster_ prefix) -> its row layout, in write order
ROWS: dict[str, type[tuple]] = {
    "casts": CastRow,
    "cast_removes": CastRemoveRow,
    "reactions": ReactionRow,
    "links": LinkRow,
    "verifications": VerificationRow,
    "user_data": UserDataRow,
}
COLUMNS: dict[str, tuple[str, ...]] = {table: row._fields for table, row in ROWS.items()}  # type: ignore[attr-defined]


def _is_bytes(hint: Any) -> bool:
    return hint is bytes or bytes in typing.get_args(hint)


# Positions of the bytes columns of each layout (hex-encoded in the staged JSON form).
BYTES_AT: dict[str, tuple[int, ...]] = {
    table: tuple(i for i, hint in enumerate(typing.get_type_hints(row).values()) if _is_bytes(hint))
    for table, row in ROWS.items()
}
