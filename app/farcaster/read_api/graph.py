"""Followers and following: active follow links, newest first, with each user's profile."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from app.farcaster.read_api import cursor as cursors
from app.farcaster.read_api import pagination, schemas
from app.farcaster.read_api.cast_rows import LIVE


def _page(conn: Connection, fid: int, *, followers: bool, limit: int, cursor: str | None) -> schemas.UserPage:
    kind = "followers" if followers else "following"
    mine, other = ("target_fid", "fid") if followers else ("fid", "target_fid")
    params: dict[str, Any] = {"fid": fid, "n": limit + 1}
    keyset = pagination.after("l", cursors.decode(kind, cursor), params)
    rows = conn.execute(text(f"""
        SELECT l.hash, l.timestamp, l.{other} AS user_fid, p.username, p.display_name, p.pfp_url,
               t.fid IS NOT NULL AS target
        FROM farcaster_links l
        LEFT JOIN farcaster_profiles p ON p.fid = l.{other}
        LEFT JOIN farcaster_targets t ON t.fid = l.{other}
        WHERE l.{mine} = :fid AND l.link_type = 'follow' AND l.message_type = 5 AND {LIVE.format(t='l')}{keyset}
        {pagination.order('l')} LIMIT :n
    """), params).all()
    items = [schemas.LinkedUser(fid=r.user_fid, username=r.username, display_name=r.display_name, pfp_url=r.pfp_url,
                                target=r.target, since=r.timestamp) for r in rows[:limit]]
    return schemas.UserPage(items=items, next_cursor=pagination.next_cursor(kind, rows, limit))


def followers(conn: Connection, fid: int, *, limit: int, cursor: str | None) -> schemas.UserPage:
    return _page(conn, fid, followers=True, limit=limit, cursor=cursor)


def following(conn: Connection, fid: int, *, limit: int, cursor: str | None) -> schemas.UserPage:
    return _page(conn, fid, followers=False, limit=limit, cursor=cursor)
