"""Lists of casts, newest first, keyset-paginated: a user's casts or replies, the home feed
(casts by the fids a user follows), a channel's casts (by parent URL)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from app.farcaster.read_api import cursor as cursors
from app.farcaster.read_api import pagination, schemas
from app.farcaster.read_api.cast_rows import LIVE, in_order


def _page(conn: Connection, kind: str, sql: str, params: dict[str, Any], limit: int) -> schemas.CastPage:
    rows = conn.execute(text(sql), {**params, "n": limit + 1}).all()
    return schemas.CastPage(items=in_order(conn, [r.hash for r in rows[:limit]]),
                            next_cursor=pagination.next_cursor(kind, rows, limit))


def user_casts(conn: Connection, fid: int, *, replies: bool, limit: int, cursor: str | None) -> schemas.CastPage:
    kind = "replies" if replies else "casts"
    params: dict[str, Any] = {"fid": fid}
    keyset = pagination.after("c", cursors.decode(kind, cursor), params)
    shape = "c.parent_hash IS NOT NULL" if replies else "c.parent_hash IS NULL"
    sql = (f"SELECT c.hash, c.timestamp FROM farcaster_casts c WHERE c.fid = :fid AND {shape} "
           f"AND {LIVE.format(t='c')}{keyset}{pagination.order('c')} LIMIT :n")
    return _page(conn, kind, sql, params, limit)


def home_feed(conn: Connection, fid: int, *, limit: int, cursor: str | None) -> schemas.CastPage:
    """The page's casts are all at least as new as the limit-th newest of the followed fids'
    newest casts (that many fids have one that new), so each followed fid is probed once for
    its newest cast, then read from that bound on: a few rows per fid, not a page each."""
    params: dict[str, Any] = {"fid": fid}
    keyset = pagination.after("c", cursors.decode("feed", cursor), params)
    sql = f"""
        WITH followed AS MATERIALIZED (
            SELECT DISTINCT l.target_fid AS fid FROM farcaster_links l
            WHERE l.fid = :fid AND l.link_type = 'follow' AND l.message_type = 5 AND {LIVE.format(t='l')}
        ), newest AS (
            SELECT x.timestamp FROM followed f CROSS JOIN LATERAL (
                SELECT c.timestamp FROM farcaster_casts c
                WHERE c.fid = f.fid AND {LIVE.format(t='c')}{keyset} ORDER BY c.timestamp DESC LIMIT 1) x
            ORDER BY x.timestamp DESC LIMIT :n
        ), bound AS (
            SELECT COALESCE(CASE WHEN count(*) = :n THEN min(timestamp) END, '-infinity') AS since FROM newest
        )
        SELECT x.hash, x.timestamp FROM followed f CROSS JOIN bound CROSS JOIN LATERAL (
            SELECT c.hash, c.timestamp FROM farcaster_casts c
            WHERE c.fid = f.fid AND {LIVE.format(t='c')}{keyset}
                  AND c.timestamp >= bound.since{pagination.order('c')} LIMIT :n
        ) x
        {pagination.order('x')} LIMIT :n"""
    return _page(conn, "feed", sql, params, limit)


def channel_feed(conn: Connection, url: str, *, limit: int, cursor: str | None) -> schemas.CastPage:
    params: dict[str, Any] = {"url": url}
    keyset = pagination.after("c", cursors.decode("channel", cursor), params)
    sql = (f"SELECT c.hash, c.timestamp FROM farcaster_casts c WHERE c.parent_url = :url "
           f"AND {LIVE.format(t='c')}{keyset}{pagination.order('c')} LIMIT :n")
    return _page(conn, "channel", sql, params, limit)
