"""Apply a Batch to PostgreSQL in the caller's transaction: the only writer of message rows.

Each table gets one COPY into a session temp table and one INSERT ... SELECT ... ON CONFLICT
(hash): new rows go in with their state, known rows only ever gain a deleted/pruned/revoked
mark (never lose one), so applying the same batch again changes nothing. Then the conflict
rules run over the keys the batch touched, so the result does not depend on arrival order:
- casts: remove wins - a cast whose CastRemove is stored is deleted by it, whichever came first;
- reactions, links, verifications: last write wins, a remove wins a timestamp tie, then the
  higher hash; user data: the newest per (fid, type) wins.
A loser that is still active is marked deleted by the winner; rows already deleted keep the
displacing hash the hub gave. Writers of the same fids serialise on advisory locks per fid
bucket (taken in order, so no deadlock): two concurrent transactions can't both keep a
different winner for one key.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, event, text

from app.farcaster import targets
from app.farcaster.batch import Batch
from app.farcaster.targets import TargetChanges

_EMBEDS_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
BASE_COLUMNS = ("hash", "fid", "timestamp", "signer")
COLUMNS = {
    "casts": ("text", "cast_type", "parent_fid", "parent_hash", "parent_url", "mentions", "mentions_positions",
              "embeds"),
    "cast_removes": ("target_hash",),
    "reactions": ("message_type", "reaction_type", "target_cast_fid", "target_cast_hash", "target_url"),
    "links": ("message_type", "link_type", "target_fid", "display_timestamp"),
    "verifications": ("message_type", "address", "protocol", "claim_signature", "block_hash", "verification_type",
                      "chain_id"),
    "user_data": ("user_data_type", "value"),
}
STATE_COLUMNS = ("deleted_by", "is_deleted", "is_pruned", "is_revoked")
# Conflict keys of the last-write-wins tables; the order column breaks timestamp ties
# (a remove's message type is its add's + 1, so DESC puts removes first).
LWW_KEYS = {
    "reactions": ("fid", "reaction_type", "target_cast_hash", "target_url"),
    "links": ("fid", "link_type", "target_fid"),
    "verifications": ("fid", "address"),
    "user_data": ("fid", "user_data_type"),
}
LOCK_CLASS = 0x4643  # advisory lock namespace ("FC")
LOCK_BUCKETS = 1024
PROFILE_FIELDS = {"USER_DATA_TYPE_USERNAME": "username", "USER_DATA_TYPE_DISPLAY": "display_name",
                  "USER_DATA_TYPE_PFP": "pfp_url", "USER_DATA_TYPE_BIO": "bio", "USER_DATA_TYPE_URL": "url"}


@dataclass
class ApplyResult:
    messages: int = 0
    onchain_events: int = 0
    username_proofs: int = 0
    targets: TargetChanges = field(default_factory=TargetChanges)
    backfill_requests: list[tuple[int, int]] = field(default_factory=list)  # (request id, fid) to send


def _pg_array(ints: list[int]) -> str:
    """An int array in PostgreSQL's text form: COPY parses it, with no per-element adaptation."""
    return "{" + ",".join(map(str, ints)) + "}"


def _raw(conn: Connection):
    return conn.connection.driver_connection


def _stage(conn: Connection, table: str, rows: list[tuple]) -> str:
    stage = f"farcaster_stage_{table}"
    cols = BASE_COLUMNS + COLUMNS[table]
    # Session temp tables, emptied at every commit; created once per pooled connection.
    # (A second apply in one transaction, or a rollback that undid the CREATE, takes the slow path.)
    info = conn.connection.info
    created = info.setdefault("farcaster_stages", set())
    if table in created and info.get("farcaster_stage_tx") != id(conn.get_transaction()):
        return _copy(conn, stage, cols, rows)
    created.add(table)
    conn.execute(text(f"""
        CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS
        SELECT {", ".join(cols)}, deleted_by, false AS is_deleted, false AS is_pruned, false AS is_revoked
        FROM farcaster_{table} WITH NO DATA;
        DELETE FROM {stage}
    """))
    return _copy(conn, stage, cols, rows)


def _copy(conn: Connection, stage: str, cols: tuple, rows: list[tuple]) -> str:
    with _raw(conn).cursor() as cur:
        with cur.copy(f"COPY {stage} ({', '.join(cols + STATE_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    conn.execute(text(f"ANALYZE {stage}"))  # temp tables get no autovacuum statistics: plans need row counts
    return stage


def _upsert(conn: Connection, table: str, stage: str) -> None:
    cols = ", ".join(BASE_COLUMNS + COLUMNS[table])
    conn.execute(text(f"""
        INSERT INTO farcaster_{table} AS t ({cols}, deleted_at, deleted_by, pruned_at, revoked_at)
        SELECT {cols}, CASE WHEN is_deleted THEN now() END, deleted_by,
               CASE WHEN is_pruned THEN now() END, CASE WHEN is_revoked THEN now() END
        FROM {stage}
        ON CONFLICT (hash) DO UPDATE SET
            deleted_at = COALESCE(t.deleted_at, EXCLUDED.deleted_at),
            deleted_by = CASE WHEN t.deleted_at IS NULL THEN EXCLUDED.deleted_by
                              ELSE COALESCE(t.deleted_by, EXCLUDED.deleted_by) END,
            pruned_at = COALESCE(t.pruned_at, EXCLUDED.pruned_at),
            revoked_at = COALESCE(t.revoked_at, EXCLUDED.revoked_at)
        WHERE (t.deleted_at IS NULL AND EXCLUDED.deleted_at IS NOT NULL)
           OR (t.deleted_by IS NULL AND EXCLUDED.deleted_by IS NOT NULL)
           OR (t.pruned_at IS NULL AND EXCLUDED.pruned_at IS NOT NULL)
           OR (t.revoked_at IS NULL AND EXCLUDED.revoked_at IS NOT NULL)
    """))


def _last_write_wins(conn: Connection, table: str, stage: str, rows: list[tuple]) -> None:
    # Reactions target a cast or a URL: two keys without NULLs, so every lookup is an equality.
    # A key kind no staged row has is skipped (it would find nothing: k would be empty).
    keys = ([k for k, i in ((("fid", "reaction_type", "target_cast_hash"), 7), (("fid", "reaction_type", "target_url"), 8))
             if any(r[i] is not None for r in rows)]
            if table == "reactions" else [LWW_KEYS[table]])
    order_type = "l.message_type" if table != "user_data" else "0"
    for key in keys:
        cols = ", ".join(key)
        # LATERAL makes each distinct key of the batch an index probe, whatever the (often
        # stale, during bulk loads) statistics say; a join let the planner scan whole tables.
        conn.execute(text(f"""
            WITH k AS (SELECT DISTINCT {cols} FROM {stage} WHERE {" AND ".join(f"{c} IS NOT NULL" for c in key)}),
            live AS (
                SELECT x.hash, first_value(x.hash) OVER (PARTITION BY {", ".join("k." + c for c in key)}
                                                         ORDER BY x.timestamp DESC, x.mt DESC, x.hash DESC) AS winner
                FROM k CROSS JOIN LATERAL (
                    SELECT l.hash, l.timestamp, {order_type} AS mt FROM farcaster_{table} l
                    WHERE {" AND ".join(f"l.{c} = k.{c}" for c in key)}
                      AND l.deleted_at IS NULL AND l.pruned_at IS NULL AND l.revoked_at IS NULL
                    OFFSET 0  -- a fence: stops the planner from flattening this into a join
                ) x
            )
            UPDATE farcaster_{table} t SET deleted_at = now(), deleted_by = live.winner
            FROM live WHERE t.hash = live.hash AND live.hash <> live.winner
        """))


def _remove_wins_for_casts(conn: Connection, cast_stage: str | None, remove_stage: str | None) -> None:
    if cast_stage:
        conn.execute(text(f"""
            UPDATE farcaster_casts c SET deleted_at = now(), deleted_by = r.hash
            FROM {cast_stage} s JOIN farcaster_cast_removes r ON r.target_hash = s.hash
            WHERE c.hash = s.hash AND c.deleted_at IS NULL
        """))
    if remove_stage:
        conn.execute(text(f"""
            UPDATE farcaster_casts c SET deleted_at = now(), deleted_by = s.hash
            FROM {remove_stage} s WHERE c.hash = s.target_hash AND c.deleted_at IS NULL
        """))


def _fold_profiles(conn: Connection, fids: list[int]) -> None:
    named = ", ".join(f"max(u.value) FILTER (WHERE u.user_data_type = '{t}') AS {c}" for t, c in PROFILE_FIELDS.items())
    known = ", ".join(f"'{t}'" for t in PROFILE_FIELDS)
    cols = ", ".join(PROFILE_FIELDS.values())
    conn.execute(text(f"""
        INSERT INTO farcaster_profiles (fid, {cols}, other, updated_at)
        SELECT f.fid, {named},
               COALESCE(jsonb_object_agg(u.user_data_type, u.value) FILTER (WHERE u.user_data_type NOT IN ({known})),
                        '{{}}'::jsonb), now()
        FROM unnest(CAST(:fids AS bigint[])) AS f(fid)
        LEFT JOIN farcaster_user_data u ON u.fid = f.fid
             AND u.deleted_at IS NULL AND u.pruned_at IS NULL AND u.revoked_at IS NULL
        GROUP BY f.fid
        ON CONFLICT (fid) DO UPDATE SET {", ".join(f"{c} = EXCLUDED.{c}" for c in PROFILE_FIELDS.values())},
            other = EXCLUDED.other, updated_at = now()
        WHERE ({", ".join(f"farcaster_profiles.{c}" for c in PROFILE_FIELDS.values())}, farcaster_profiles.other)
              IS DISTINCT FROM ({", ".join(f"EXCLUDED.{c}" for c in PROFILE_FIELDS.values())}, EXCLUDED.other)
    """), {"fids": fids})


def _insert_onchain(conn: Connection, batch: Batch) -> None:
    rows = [(e.event_type, e.chain_id, e.block_number, e.block_hash, e.block_timestamp, e.transaction_hash,
             e.log_index, e.fid, e.tx_index, e.body, e.signer_key, e.signer_event_type, e.request_fid)
            for e in batch.onchain]
    with _raw(conn).cursor() as cur:
        cur.executemany("""
            INSERT INTO farcaster_onchain_events (event_type, chain_id, block_number, block_hash, block_timestamp,
                transaction_hash, log_index, fid, tx_index, body, signer_key, signer_event_type, request_fid)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s, %s)
            ON CONFLICT (transaction_hash, log_index) DO NOTHING
        """, rows)


def _insert_proofs(conn: Connection, batch: Batch) -> None:
    rows = [(p.name, p.timestamp, p.fid, p.owner, p.signature, p.proof_type) for p in batch.proofs]
    with _raw(conn).cursor() as cur:
        cur.executemany("""
            INSERT INTO farcaster_username_proofs (name, timestamp, fid, owner, signature, proof_type)
            VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (name, timestamp) DO NOTHING
        """, rows)
    # A newer proof for a name supersedes older ones (a transfer to fid 0 is a deregistration).
    conn.execute(text("""
        UPDATE farcaster_username_proofs p SET deleted_at = now()
        FROM (SELECT name, max(timestamp) AS latest FROM farcaster_username_proofs
              WHERE name = ANY(:names) GROUP BY name) n
        WHERE p.name = n.name AND (p.timestamp < n.latest OR p.fid = 0) AND p.deleted_at IS NULL
    """), {"names": sorted({p.name for p in batch.proofs})})


def lock_fids(conn: Connection, fids) -> None:
    buckets = sorted({f % LOCK_BUCKETS for f in fids})
    if buckets:
        conn.execute(text("""
            SELECT count(pg_advisory_xact_lock(:cls, b)) FROM (SELECT b FROM unnest(CAST(:b AS int[])) b ORDER BY b) s
        """), {"cls": LOCK_CLASS, "b": buckets})


def apply_batch(conn: Connection, batch: Batch, *, reason: str = "event") -> ApplyResult:
    """Store everything in ``batch`` and expand the target graph; run inside a transaction."""

    result = ApplyResult(len(batch.messages), len(batch.onchain), len(batch.proofs))
    try:
        _apply(conn, batch, result, reason)
    except BaseException:
        conn.connection.info.pop("farcaster_stages", None)
        raise
    conn.connection.info["farcaster_stage_tx"] = id(conn.get_transaction())
    return result


@event.listens_for(Engine, "rollback")
def _forget_stages(conn: Connection) -> None:
    conn.connection.info.pop("farcaster_stages", None)  # a rollback may have undone their CREATE


def _apply(conn: Connection, batch: Batch, result: ApplyResult, reason: str) -> None:
    from app.farcaster import backfill  # late: backfill imports this module

    by_table: dict[str, list[tuple]] = {}
    for m in batch.messages.values():
        by = batch.deleted_by.get(m.hash)
        values = m.values if m.table != "casts" else (*m.values[:5], _pg_array(m.values[5]), _pg_array(m.values[6]),
                                                      _EMBEDS_JSON.encode(m.values[7]))
        by_table.setdefault(m.table, []).append(
            (m.hash, m.fid, m.timestamp, m.signer, *values,
             by, by is not None, m.hash in batch.pruned, m.hash in batch.revoked))
    lock_fids(conn, {m.fid for m in batch.messages.values()})
    stages: dict[str, str] = {}
    for table in COLUMNS:  # fixed order: casts before cast removes, links before targets
        rows = by_table.get(table)
        if rows:
            stages[table] = _stage(conn, table, rows)
            _upsert(conn, table, stages[table])
    if "casts" in stages or "cast_removes" in stages:
        _remove_wins_for_casts(conn, stages.get("casts"), stages.get("cast_removes"))
    for table in LWW_KEYS:
        if table in stages:
            _last_write_wins(conn, table, stages[table], by_table[table])
    if "user_data" in stages:
        _fold_profiles(conn, sorted({r[1] for r in by_table["user_data"]}))
    if batch.onchain:
        _insert_onchain(conn, batch)
    if batch.proofs:
        _insert_proofs(conn, batch)

    # Graph expansion: follows by roots and signer adds requested by client apps.
    if "links" in stages:
        followed = list(conn.execute(text(f"""
            SELECT DISTINCT s.target_fid FROM {stages['links']} s
            JOIN farcaster_targets r ON r.fid = s.fid AND r.is_root WHERE s.link_type = 'follow'
        """)).scalars())
        result.targets.merge(targets.refresh_followed(conn, followed))
    app_signers = [(e.fid, e.request_fid) for e in batch.onchain if e.is_signer_add and e.request_fid is not None]
    if app_signers:
        apps = set(conn.execute(text("SELECT fid FROM farcaster_client_apps WHERE fid = ANY(:a)"),
                                {"a": sorted({a for _, a in app_signers})}).scalars())
        result.targets.merge(targets.make_app_roots(conn, [(u, a) for u, a in app_signers if a in apps]))
    if result.targets.to_backfill:
        result.backfill_requests = backfill.request_backfills(conn, result.targets.to_backfill, reason=f"graph:{reason}")
