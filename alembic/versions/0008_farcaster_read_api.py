"""farcaster read API: counter tables kept by triggers, text search and feed indexes

Counters (likes, recasts and replies per cast; casts, followers and following per fid) are kept
by statement-level AFTER triggers with transition tables, so they change in the writer's own
transaction whichever code path writes (the processor's COPY and UPDATEs, reconciliation): a
row counts while it is active, and the processor only inserts new rows and only ever adds
deleted/pruned/revoked marks, so a replay changes nothing and a soft delete, prune or revoke
subtracts exactly once. Each trigger applies one aggregated upsert per counter table, in key
order, so concurrent writers lock counter rows in the same order within a statement.

Revision ID: 0008_farcaster_read_api
Revises: 0007_farcaster_write_path
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_farcaster_read_api"
down_revision = "0007_farcaster_write_path"
branch_labels = None
depends_on = None

LIVE = "deleted_at IS NULL AND pruned_at IS NULL AND revoked_at IS NULL"

# message table -> counter table -> [(key expression over the message row, key column's name
# in the counter table, {counter column: condition over the row})]
COUNTED = {
    "farcaster_casts": {
        "farcaster_fid_counts": [("fid", {"casts": "true"})],
        "farcaster_cast_counts": [("parent_hash", {"replies": "parent_hash IS NOT NULL"})],
    },
    "farcaster_reactions": {
        "farcaster_cast_counts": [("target_cast_hash", {
            "likes": "message_type = 3 AND reaction_type = 1",
            "recasts": "message_type = 3 AND reaction_type = 2"})],
    },
    "farcaster_links": {
        "farcaster_fid_counts": [("fid", {"following": "message_type = 5 AND link_type = 'follow'"}),
                                 ("target_fid", {"followers": "message_type = 5 AND link_type = 'follow'"})],
    },
}
KEYS = {"farcaster_fid_counts": "fid", "farcaster_cast_counts": "hash"}


def _upsert(counter_table: str, sources: list[tuple[str, dict[str, str]]], with_old: bool) -> str:
    """One statement per counter table: the net change of each counter per key (+1 per active
    new row, -1 per active old row), applied in key order where it is not zero."""
    names = [n for _, counters in sources for n in counters]

    def rows(source: str, sign: str) -> list[str]:
        out = []
        for key_expr, counters in sources:
            cols = ", ".join(f"CASE WHEN {counters[n]} THEN {sign}1 ELSE 0 END AS {n}" if n in counters else f"0 AS {n}"
                             for n in names)
            out.append(f"SELECT {key_expr} AS k, {cols} FROM {source} WHERE {LIVE} AND {key_expr} IS NOT NULL")
        return out

    changes = " UNION ALL ".join(rows("new_rows", "") + (rows("old_rows", "-") if with_old else []))
    key = KEYS[counter_table]
    return f"""
        INSERT INTO {counter_table} AS c ({key}, {", ".join(names)})
        SELECT k, {", ".join(f"sum({n})::int" for n in names)} FROM ({changes}) d
        GROUP BY k HAVING {" OR ".join(f"sum({n}) <> 0" for n in names)}
        ORDER BY k
        ON CONFLICT ({key}) DO UPDATE SET {", ".join(f"{n} = c.{n} + EXCLUDED.{n}" for n in names)};"""


def _function(table: str) -> str:
    inserts = "".join(_upsert(c, sources, with_old=False) for c, sources in COUNTED[table].items())
    updates = "".join(_upsert(c, sources, with_old=True) for c, sources in COUNTED[table].items())
    return f"""
        CREATE FUNCTION {table}_count() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN {inserts}
            ELSIF TG_OP = 'UPDATE' THEN {updates}
            END IF;
            RETURN NULL;
        END $$"""


def _recount() -> list[str]:
    """Counters from the rows already stored."""
    return [
        f"""INSERT INTO farcaster_fid_counts (fid, casts)
            SELECT fid, count(*) FROM farcaster_casts WHERE {LIVE} GROUP BY fid""",
        f"""INSERT INTO farcaster_fid_counts AS c (fid, following)
            SELECT fid, count(*) FROM farcaster_links WHERE {LIVE} AND message_type = 5 AND link_type = 'follow'
            GROUP BY fid ON CONFLICT (fid) DO UPDATE SET following = EXCLUDED.following""",
        f"""INSERT INTO farcaster_fid_counts AS c (fid, followers)
            SELECT target_fid, count(*) FROM farcaster_links WHERE {LIVE} AND message_type = 5 AND link_type = 'follow'
            GROUP BY target_fid ON CONFLICT (fid) DO UPDATE SET followers = EXCLUDED.followers""",
        f"""INSERT INTO farcaster_cast_counts (hash, replies)
            SELECT parent_hash, count(*) FROM farcaster_casts WHERE {LIVE} AND parent_hash IS NOT NULL
            GROUP BY parent_hash""",
        f"""INSERT INTO farcaster_cast_counts AS c (hash, likes, recasts)
            SELECT target_cast_hash, count(*) FILTER (WHERE reaction_type = 1), count(*) FILTER (WHERE reaction_type = 2)
            FROM farcaster_reactions WHERE {LIVE} AND message_type = 3 AND target_cast_hash IS NOT NULL
            GROUP BY target_cast_hash
            ON CONFLICT (hash) DO UPDATE SET likes = EXCLUDED.likes, recasts = EXCLUDED.recasts""",
    ]


def upgrade() -> None:
    zero = sa.text("0")
    op.create_table(
        "farcaster_cast_counts",
        sa.Column("hash", sa.LargeBinary(), primary_key=True),
        sa.Column("likes", sa.Integer(), nullable=False, server_default=zero),
        sa.Column("recasts", sa.Integer(), nullable=False, server_default=zero),
        sa.Column("replies", sa.Integer(), nullable=False, server_default=zero),
    )
    op.create_table(
        "farcaster_fid_counts",
        sa.Column("fid", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("casts", sa.Integer(), nullable=False, server_default=zero),
        sa.Column("followers", sa.Integer(), nullable=False, server_default=zero),
        sa.Column("following", sa.Integer(), nullable=False, server_default=zero),
    )
    for table in COUNTED:
        op.execute(_function(table))
        for event in ("INSERT", "UPDATE"):
            transition = "NEW TABLE AS new_rows" + (" OLD TABLE AS old_rows" if event == "UPDATE" else "")
            op.execute(f"CREATE TRIGGER {table}_count_{event.lower()} AFTER {event} ON {table} "
                       f"REFERENCING {transition} FOR EACH STATEMENT EXECUTE FUNCTION {table}_count()")
    for statement in _recount():
        op.execute(statement)

    # Read paths: full-text search, channel feeds, a user's reactions, a fid's followers, trending.
    op.execute("CREATE INDEX ix_farcaster_casts_text_search ON farcaster_casts "
               "USING gin (to_tsvector('english', text))")
    op.create_index("ix_farcaster_casts_parent_url_timestamp", "farcaster_casts", ["parent_url", "timestamp"],
                    postgresql_where=sa.text("parent_url IS NOT NULL"))
    op.create_index("ix_farcaster_reactions_fid_timestamp", "farcaster_reactions", ["fid", "timestamp"])
    op.create_index("ix_farcaster_links_target_fid_timestamp", "farcaster_links", ["target_fid", "timestamp"])
    # BRIN: a few pages per table, nearly free to keep up; trending reads recent ranges only.
    op.execute("CREATE INDEX ix_farcaster_reactions_timestamp_brin ON farcaster_reactions USING brin (timestamp)")
    op.execute("CREATE INDEX ix_farcaster_casts_timestamp_brin ON farcaster_casts USING brin (timestamp)")
    op.create_index("ix_farcaster_profiles_username", "farcaster_profiles", ["username"])


def downgrade() -> None:
    for name in ("ix_farcaster_profiles_username", "ix_farcaster_casts_timestamp_brin",
                 "ix_farcaster_reactions_timestamp_brin", "ix_farcaster_links_target_fid_timestamp",
                 "ix_farcaster_reactions_fid_timestamp", "ix_farcaster_casts_parent_url_timestamp",
                 "ix_farcaster_casts_text_search"):
        op.execute(f"DROP INDEX {name}")
    for table in COUNTED:
        for event in ("insert", "update"):
            op.execute(f"DROP TRIGGER {table}_count_{event} ON {table}")
        op.execute(f"DROP FUNCTION {table}_count()")
    op.drop_table("farcaster_fid_counts")
    op.drop_table("farcaster_cast_counts")
