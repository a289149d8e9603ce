"""Trending casts: ranked by the active likes, recasts and replies they received in a window
(ending now, or at a given time), computed from the rows in the window (BRIN-indexed timestamps)."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, text

from app.farcaster.read_api import schemas
from app.farcaster.read_api.cast_rows import LIVE, in_order
from app.farcaster.read_api.errors import bad_request

WINDOW_PATTERN = r"^[1-9][0-9]{0,3}[mhd]$"
MAX_WINDOW = timedelta(days=7)
UNITS = {"m": "minutes", "h": "hours", "d": "days"}

_TRENDING = text(f"""
    SELECT e.h AS hash, sum(e.n)::int AS engagement FROM (
        SELECT r.target_cast_hash AS h, count(*) AS n FROM farcaster_reactions r
        WHERE r.timestamp > :start AND r.timestamp <= :end AND r.message_type = 3 AND r.reaction_type IN (1, 2)
              AND r.target_cast_hash IS NOT NULL AND {LIVE.format(t='r')}
        GROUP BY 1
        UNION ALL
        SELECT c.parent_hash, count(*) FROM farcaster_casts c
        WHERE c.timestamp > :start AND c.timestamp <= :end AND c.parent_hash IS NOT NULL AND {LIVE.format(t='c')}
        GROUP BY 1
    ) e
    JOIN farcaster_casts t ON t.hash = e.h AND {LIVE.format(t='t')}
    GROUP BY e.h ORDER BY engagement DESC, e.h DESC LIMIT :n
""")


def parse_window(window: str) -> timedelta:
    if not re.match(WINDOW_PATTERN, window):
        raise bad_request("window", "a duration like 30m, 24h or 7d")
    span = timedelta(**{UNITS[window[-1]]: int(window[:-1])})
    if span > MAX_WINDOW:
        raise bad_request("window", "at most 7d")
    return span


def trending_casts(conn: Connection, window: str, *, at: datetime | None, limit: int) -> schemas.Trending:
    end = at or datetime.now(UTC)
    if end.tzinfo is None:
        end = end.replace(tzinfo=UTC)
    start = end - parse_window(window)
    rows = conn.execute(_TRENDING, {"start": start, "end": end, "n": limit}).all()
    casts = {c.hash: c for c in in_order(conn, [r.hash for r in rows])}
    items = [schemas.TrendingCast(cast=casts["0x" + r.hash.hex()], engagement=r.engagement)
             for r in rows if "0x" + r.hash.hex() in casts]
    return schemas.Trending(window_start=start, window_end=end, items=items)
