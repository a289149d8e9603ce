"""A cast and its replies as a tree, level by level (one index probe per level), bounded in
depth and in the number of replies. Only active casts: a deleted reply hides its subtree."""
from __future__ import annotations

from sqlalchemy import Connection, text

from app.farcaster.read_api import schemas
from app.farcaster.read_api.cast_rows import LIVE, hydrate
from app.farcaster.read_api.errors import not_found

_CHILDREN = text(f"""
    SELECT c.hash, c.parent_hash FROM farcaster_casts c
    WHERE c.parent_hash = ANY(:parents) AND {LIVE.format(t='c')}
    ORDER BY c.timestamp, c.hash LIMIT :n
""")


def cast(conn: Connection, cast_hash: bytes, *, include_inactive: bool = False) -> schemas.Cast:
    found = hydrate(conn, [cast_hash]).get(cast_hash)
    if found is None:
        raise not_found(f"cast 0x{cast_hash.hex()} is not stored", "hash")
    if not found.active and not include_inactive:
        raise not_found(f"cast 0x{cast_hash.hex()} was deleted, pruned or revoked "
                        "(include_inactive=true shows it)", "hash")
    return found


def thread(conn: Connection, root_hash: bytes, *, depth: int, limit: int) -> schemas.Thread:
    root = cast(conn, root_hash)
    children: dict[bytes, list[bytes]] = {}
    frontier, budget, truncated = [root_hash], limit, False
    for _ in range(depth):  # one level of replies per round
        rows = conn.execute(_CHILDREN, {"parents": frontier, "n": budget + 1}).all()
        if len(rows) > budget:
            truncated, rows = True, rows[:budget]
        for r in rows:
            children.setdefault(r.parent_hash, []).append(r.hash)
        budget -= len(rows)
        frontier = [r.hash for r in rows]
        if not frontier or budget == 0:
            break
    if frontier and not truncated:  # stopped by a bound: say whether replies lie beyond it
        truncated = conn.execute(_CHILDREN, {"parents": frontier, "n": 1}).first() is not None
    casts = hydrate(conn, [h for hs in children.values() for h in hs])

    def nodes(parent: bytes) -> list[schemas.ThreadNode]:
        return [schemas.ThreadNode(cast=casts[h], replies=nodes(h)) for h in children.get(parent, ()) if h in casts]

    return schemas.Thread(cast=root, replies=nodes(root_hash), truncated=truncated)
