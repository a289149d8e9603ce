"""farcaster read API: counters kept by triggers, text search and feed indexes

Counters (likes, recasts and replies per cast; casts, followers and following per fid) change
in the writer's own transaction, whichever code path writes (the processor's COPY and UPDATEs,
reconciliation): statement-level AFTER triggers with transition tables add the statement's net
change per key to a session-local temporary table, and at commit one deferred trigger applies
the transaction's changes to the counter tables in key order. A row counts while it is active;
the processor only inserts new rows and only ever adds deleted/pruned/revoked marks, so a
replay changes nothing and a soft delete, prune or revoke subtracts exactly once.

Why at commit, in key order: upserting counters statement by statement deadlocked concurrent
backfills (each transaction touches many keys over several statements, in different orders);
one sorted upsert per counter table at commit takes every transaction's row locks in the same
order, and holds them only while it commits. The temporary table writes no WAL, so a message
costs one counter upsert per key it changes (a logged delta table, appended to and folded from,
measured about twice the PostgreSQL work per message).

Revision ID: 0011_farcaster_read_api
Revises: 0010_catalogue_integrity
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_farcaster_read_api"
down_revision = "0010_catalogue_integrity"
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
COUNTERS = {"farcaster_fid_counts": ("casts", "followers", "following"),
            "farcaster_cast_counts": ("likes", "recasts", "replies")}
CHANGES = "pg_temp.farcaster_count_changes"  # this session's pending changes, emptied at each commit


def _append(counter_table: str, sources: list[tuple[str, dict[str, str]]], with_old: bool) -> str:
    """One statement per counter table: the net change of each counter per key (+1 per active
    new row, -1 per active old row), added to the pending changes where it is not zero."""
    names = [n for _, counters in sources for n in counters]

    def rows(source: str, sign: str) -> list[str]:
        out = []
        for key_expr, counters in sources:
            cols = ", ".join(f"CASE WHEN {counters[n]} THEN {sign}1 ELSE 0 END AS {n}" if n in counters else f"0 AS {n}"
                             for n in names)
            out.append(f"SELECT {key_expr} AS k, {cols} FROM {source} WHERE {LIVE} AND {key_expr} IS NOT NULL")
        return out

    changes = " UNION ALL ".join(rows("new_rows", "") + (rows("old_rows", "-") if with_old else []))
    return f"""
        INSERT INTO {CHANGES} ({KEYS[counter_table]}, {", ".join(names)})
        SELECT k, {", ".join(f"sum({n})::int" for n in names)} FROM ({changes}) d
        GROUP BY k HAVING {" OR ".join(f"sum({n}) <> 0" for n in names)};"""


def _function(table: str) -> str:
    inserts = "".join(_append(c, sources, with_old=False) for c, sources in COUNTED[table].items())
    updates = "".join(_append(c, sources, with_old=True) for c, sources in COUNTED[table].items())
    return f"""
        CREATE FUNCTION {table}_count() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM farcaster_count_changes_open();
            IF TG_OP = 'INSERT' THEN {inserts}
            ELSIF TG_OP = 'UPDATE' THEN {updates}
            END IF;
            RETURN NULL;
        END $$"""


# Once per transaction: the session's temporary table, and a marker row whose deferred trigger
# applies the changes at commit (rolled back with a savepoint, like the changes themselves).
OPEN_FUNCTION = f"""
    CREATE FUNCTION farcaster_count_changes_open() RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
        IF current_setting('farcaster.count_changes_open', true) = 'on' THEN
            RETURN;
        END IF;
        IF to_regclass('{CHANGES}') IS NULL THEN
            CREATE TEMPORARY TABLE farcaster_count_changes (
                hash bytea, fid bigint,
                likes int NOT NULL DEFAULT 0, recasts int NOT NULL DEFAULT 0, replies int NOT NULL DEFAULT 0,
                casts int NOT NULL DEFAULT 0, followers int NOT NULL DEFAULT 0, following int NOT NULL DEFAULT 0
            ) ON COMMIT DELETE ROWS;
        END IF;
        INSERT INTO farcaster_count_flushes (txid) VALUES (txid_current());
        PERFORM set_config('farcaster.count_changes_open', 'on', true);
    END $$"""


def _apply_function() -> str:
    upserts = "".join(f"""
        INSERT INTO {t} AS c ({KEYS[t]}, {", ".join(COUNTERS[t])})
        SELECT {KEYS[t]}, {", ".join(f"sum({n})" for n in COUNTERS[t])} FROM {CHANGES}
        WHERE {KEYS[t]} IS NOT NULL
        GROUP BY {KEYS[t]} HAVING {" OR ".join(f"sum({n}) <> 0" for n in COUNTERS[t])}
        ORDER BY {KEYS[t]}
        ON CONFLICT ({KEYS[t]}) DO UPDATE SET {", ".join(f"{n} = c.{n} + EXCLUDED.{n}" for n in COUNTERS[t])};"""
                      for t in ("farcaster_cast_counts", "farcaster_fid_counts"))
    return f"""
        CREATE FUNCTION farcaster_count_changes_apply() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN{upserts}
            DELETE FROM farcaster_count_flushes WHERE txid = NEW.txid;
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
    op.create_table("farcaster_count_flushes", sa.Column("txid", sa.BigInteger(), primary_key=True,
                                                          autoincrement=False))
    op.execute(OPEN_FUNCTION)
    op.execute(_apply_function())
    op.execute("CREATE CONSTRAINT TRIGGER farcaster_count_flushes_apply AFTER INSERT ON farcaster_count_flushes "
               "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION farcaster_count_changes_apply()")
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
    # Replaces the (target_fid) index: serves every lookup it served, for one index's upkeep.
    op.create_index("ix_farcaster_links_target_fid_timestamp", "farcaster_links", ["target_fid", "timestamp"])
    op.drop_index("ix_farcaster_links_target_fid", table_name="farcaster_links")
    # BRIN: a few pages per table, nearly free to keep up; trending reads recent ranges only.
    op.execute("CREATE INDEX ix_farcaster_reactions_timestamp_brin ON farcaster_reactions USING brin (timestamp)")
    op.execute("CREATE INDEX ix_farcaster_casts_timestamp_brin ON farcaster_casts USING brin (timestamp)")
    op.create_index("ix_farcaster_profiles_username", "farcaster_profiles", ["username"])


def downgrade() -> None:
    op.create_index("ix_farcaster_links_target_fid", "farcaster_links", ["target_fid"])
    for name in ("ix_farcaster_profiles_username", "ix_farcaster_casts_timestamp_brin",
                 "ix_farcaster_reactions_timestamp_brin", "ix_farcaster_links_target_fid_timestamp",
                 "ix_farcaster_reactions_fid_timestamp", "ix_farcaster_casts_parent_url_timestamp",
                 "ix_farcaster_casts_text_search"):
        op.execute(f"DROP INDEX {name}")
    for table in COUNTED:
        for event in ("insert", "update"):
            op.execute(f"DROP TRIGGER {table}_count_{event} ON {table}")
        op.execute(f"DROP FUNCTION {table}_count()")
    op.drop_table("farcaster_count_flushes")
    op.execute("DROP FUNCTION farcaster_count_changes_apply()")
    op.execute("DROP FUNCTION farcaster_count_changes_open()")
    op.drop_table("farcaster_fid_counts")
    op.drop_table("farcaster_cast_counts")
