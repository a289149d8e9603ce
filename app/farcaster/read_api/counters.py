"""Counts as stored (a counter plus its deltas not folded yet), and a rebuild of the counters
from the rows stored, in one transaction. Triggers keep them current on every write (the
farcaster_read_api migration); the rebuild is for data loaded with the triggers disabled (bulk loads, the read
benchmark) or repaired by hand."""
from __future__ import annotations

from sqlalchemy import Connection, text

LIVE = "deleted_at IS NULL AND pruned_at IS NULL AND revoked_at IS NULL"

FOLD_LOCK = (0x4644, 0)  # the folder's advisory lock (the farcaster_read_api migration)


# A count is its counter plus the deltas not folded yet (one index probe each).
CAST_COUNTS_JOIN = """
    LEFT JOIN farcaster_cast_counts k ON k.hash = {alias}.hash
    LEFT JOIN LATERAL (SELECT sum(likes) AS likes, sum(recasts) AS recasts, sum(replies) AS replies
                       FROM farcaster_cast_count_deltas WHERE hash = {alias}.hash) kd ON true"""
CAST_COUNTS_COLUMNS = ("COALESCE(k.likes, 0) + COALESCE(kd.likes, 0) AS likes, "
                       "COALESCE(k.recasts, 0) + COALESCE(kd.recasts, 0) AS recasts, "
                       "COALESCE(k.replies, 0) + COALESCE(kd.replies, 0) AS replies")

FID_COUNTS_SQL = """
    SELECT k.fid IS NOT NULL OR d.casts IS NOT NULL AS known_by_counts,
           COALESCE(k.casts, 0) + COALESCE(d.casts, 0) AS casts,
           COALESCE(k.followers, 0) + COALESCE(d.followers, 0) AS followers,
           COALESCE(k.following, 0) + COALESCE(d.following, 0) AS following
    FROM (SELECT 1) one
    LEFT JOIN farcaster_fid_counts k ON k.fid = :fid
    LEFT JOIN (SELECT sum(casts) AS casts, sum(followers) AS followers, sum(following) AS following
               FROM farcaster_fid_count_deltas WHERE fid = :fid) d ON true
"""

RECOUNT = (
    f"SELECT pg_advisory_xact_lock({FOLD_LOCK[0]}, {FOLD_LOCK[1]})",
    "LOCK TABLE farcaster_cast_counts, farcaster_fid_counts, farcaster_cast_count_deltas, "
    "farcaster_fid_count_deltas IN EXCLUSIVE MODE",
    "DELETE FROM farcaster_cast_counts",
    "DELETE FROM farcaster_fid_counts",
    "DELETE FROM farcaster_cast_count_deltas",
    "DELETE FROM farcaster_fid_count_deltas",
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
