"""Full-text search over active casts: PostgreSQL text search (english configuration, the GIN
expression index of the farcaster_read_api migration), ranked by ts_rank, keyset-paginated on (rank, hash)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from app.farcaster.read_api import cursor as cursors
from app.farcaster.read_api import schemas
from app.farcaster.read_api.cast_rows import LIVE, hydrate
from app.farcaster.read_api.cursor import RankKey
from app.farcaster.read_api.errors import bad_request

VECTOR = "to_tsvector('english', c.text)"  # the indexed expression, verbatim


def search_casts(conn: Connection, q: str, *, limit: int, cursor: str | None) -> schemas.SearchPage:
    if conn.execute(text("SELECT numnode(websearch_to_tsquery('english', :q)) = 0"), {"q": q}).scalar():
        raise bad_request("q", "no searchable words (only stop words or punctuation)")
    key = cursors.decode("search", cursor, RankKey)
    params: dict[str, Any] = {"q": q, "n": limit + 1}
    keyset = ""
    if key is not None:
        params["cursor_rank"], params["cursor_hash"] = key.rank, key.hash
        keyset = ("WHERE rank <= CAST(:cursor_rank AS real) "
                  "AND (rank < CAST(:cursor_rank AS real) OR hash < :cursor_hash)")
    rows = conn.execute(text(f"""
        SELECT hash, rank FROM (
            SELECT c.hash, ts_rank({VECTOR}, query) AS rank
            FROM farcaster_casts c, websearch_to_tsquery('english', :q) query
            WHERE {VECTOR} @@ query AND {LIVE.format(t='c')}
        ) hits {keyset}
        ORDER BY rank DESC, hash DESC LIMIT :n
    """), params).all()
    page = rows[:limit]
    casts = hydrate(conn, [r.hash for r in page])
    items = [schemas.SearchHit(cast=casts[r.hash], rank=r.rank) for r in page if r.hash in casts]
    more = len(rows) > limit
    return schemas.SearchPage(items=items,
                              next_cursor=cursors.encode("search", RankKey(page[-1].rank, page[-1].hash)) if more else None)
