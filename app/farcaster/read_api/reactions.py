"""A user's active likes and recasts, newest first, with the target casts that are stored."""
from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import Connection, text

from app.farcaster.read_api import cursor as cursors
from app.farcaster.read_api import pagination, schemas
from app.farcaster.read_api.cast_rows import LIVE, hex_hash, hydrate

TYPES: dict[int, Literal["like", "recast"]] = {1: "like", 2: "recast"}


def user_reactions(conn: Connection, fid: int, *, limit: int, cursor: str | None) -> schemas.ReactionPage:
    params: dict[str, Any] = {"fid": fid, "n": limit + 1}
    keyset = pagination.after("r", cursors.decode("reactions", cursor), params)
    rows = conn.execute(text(f"""
        SELECT r.hash, r.timestamp, r.reaction_type, r.target_cast_fid, r.target_cast_hash, r.target_url
        FROM farcaster_reactions r
        WHERE r.fid = :fid AND r.message_type = 3 AND r.reaction_type IN (1, 2) AND {LIVE.format(t='r')}{keyset}
        {pagination.order('r')} LIMIT :n
    """), params).all()
    page = rows[:limit]
    casts = hydrate(conn, [r.target_cast_hash for r in page if r.target_cast_hash])
    items = []
    for r in page:
        cast = casts.get(r.target_cast_hash) if r.target_cast_hash else None
        items.append(schemas.Reaction(
            hash=hex_hash(r.hash), type=TYPES[r.reaction_type], timestamp=r.timestamp,
            target_cast=schemas.CastRef(fid=r.target_cast_fid, hash=hex_hash(r.target_cast_hash))
            if r.target_cast_hash else None,
            target_url=r.target_url, cast=cast if cast is not None and cast.active else None))
    return schemas.ReactionPage(items=items, next_cursor=pagination.next_cursor("reactions", rows, limit))
