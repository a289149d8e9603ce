"""Casts as the API shows them: the row with its author (profile, target flag) and counters."""
from __future__ import annotations

from sqlalchemy import Connection, text

from app.farcaster.read_api import schemas
from app.farcaster.read_api.counters import CAST_COUNTS_COLUMNS, CAST_COUNTS_JOIN

LIVE = "{t}.deleted_at IS NULL AND {t}.pruned_at IS NULL AND {t}.revoked_at IS NULL"

_HYDRATE = text(f"""
    SELECT c.hash, c.fid, c.timestamp, c.text, c.cast_type, c.parent_fid, c.parent_hash, c.parent_url,
           c.mentions, c.mentions_positions, c.embeds, {LIVE.format(t="c")} AS active,
           p.username, p.display_name, p.pfp_url, t.fid IS NOT NULL AS target,
           {CAST_COUNTS_COLUMNS}
    FROM farcaster_casts c
    LEFT JOIN farcaster_profiles p ON p.fid = c.fid
    LEFT JOIN farcaster_targets t ON t.fid = c.fid
    {CAST_COUNTS_JOIN.format(alias="c")}
    WHERE c.hash = ANY(:hashes)
""")


def hex_hash(h: bytes) -> str:
    return "0x" + h.hex()


def to_cast(r) -> schemas.Cast:  # type: ignore[no-untyped-def]
    return schemas.Cast(
        hash=hex_hash(r.hash),
        author=schemas.Author(fid=r.fid, username=r.username, display_name=r.display_name, pfp_url=r.pfp_url,
                              target=r.target),
        timestamp=r.timestamp, text=r.text, cast_type=r.cast_type,
        parent=schemas.CastRef(fid=r.parent_fid, hash=hex_hash(r.parent_hash)) if r.parent_hash else None,
        parent_url=r.parent_url, mentions=r.mentions, mentions_positions=r.mentions_positions, embeds=r.embeds,
        counts=schemas.CastCounts(likes=r.likes, recasts=r.recasts, replies=r.replies), active=r.active)


def hydrate(conn: Connection, hashes: list[bytes]) -> dict[bytes, schemas.Cast]:
    """The casts of these hashes that are stored (any state), by hash."""
    if not hashes:
        return {}
    return {r.hash: to_cast(r) for r in conn.execute(_HYDRATE, {"hashes": hashes})}


def in_order(conn: Connection, hashes: list[bytes]) -> list[schemas.Cast]:
    found = hydrate(conn, hashes)
    return [found[h] for h in hashes if h in found]
