"""Counts as the read API reads them, and a rebuild of the counters from the rows stored, in
one transaction. Triggers keep them current on every write (the
farcaster_read_api migration); the rebuild is for data loaded with the triggers disabled (bulk loads, the read
benchmark) or repaired by hand."""
from __future__ import annotations

from sqlalchemy import Connection, text

LIVE = "deleted_at IS NULL AND pruned_at IS NULL AND revoked_at IS NULL"

CAST_COUNTS_JOIN = "LEFT JOIN farcaster_cast_counts k ON k.hash = {alias}.hash"
CAST_COUNTS_COLUMNS = ("COALESCE(k.likes, 0) AS likes, COALESCE(k.recasts, 0) AS recasts, "
                       "COALESCE(k.replies, 0) AS replies")
FID_COUNTS_SQL = """
    SELECT k.fid IS NOT NULL AS known_by_counts, COALESCE(k.casts, 0) AS casts,
           COALESCE(k.followers, 0) AS followers, COALESCE(k.following, 0) AS following
    FROM (SELECT 1) one LEFT JOIN farcaster_fid_counts k ON k.fid = :fid
"""

RECOUNT = (
    # in the order writers lock them at commit
    "LOCK TABLE farcaster_cast_counts, farcaster_fid_counts IN EXCLUSIVE MODE",
    "DELETE FROM farcaster_cast_counts",
    "DELETE FROM farcaster_fid_counts",
    f"""INSERT INTO farcaster_fid_counts (fid, casts, followers, following)
        SELECT f, sum(c), sum(fr), sum(fg) FROM (
            SELECT fid AS f, count(*) AS c, 0 AS fr, 0 AS fg FROM farcaster_casts WHERE {LIVE} GROUP BY fid
            UNION ALL
            SELECT target_fid, 0, count(*), 0 FROM farcaster_links
            WHERE {LIVE} AND message_type = 5 AND link_type = 'follow' GROUP BY target_fid
            UNION ALL
            SELECT fid, 0, 0, count(*) FROM farcaster_links
            WHERE {LIVE} AND message_type = 5 AND link_type = 'follow' GROUP BY fid) x
        GROUP BY f""",
    f"""INSERT INTO farcaster_cast_counts (hash, likes, recasts, replies)
        SELECT h, sum(l), sum(r), sum(p) FROM (
            SELECT target_cast_hash AS h, count(*) FILTER (WHERE reaction_type = 1) AS l,
                   count(*) FILTER (WHERE reaction_type = 2) AS r, 0 AS p
            FROM farcaster_reactions WHERE {LIVE} AND message_type = 3 AND target_cast_hash IS NOT NULL
            GROUP BY target_cast_hash
            UNION ALL
            SELECT parent_hash, 0, 0, count(*) FROM farcaster_casts WHERE {LIVE} AND parent_hash IS NOT NULL
            GROUP BY parent_hash) x
        GROUP BY h""",
)


def recount(conn: Connection) -> None:
    """Replace every counter with a count of the active rows (run inside a transaction)."""
    for statement in RECOUNT:
        conn.execute(text(statement))
