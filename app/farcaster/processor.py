"""Apply a Batch to PostgreSQL in the caller's transaction: the only writer of message rows.

Writers of the same fids serialise on advisory locks per fid bucket (taken in order, so no
deadlock), so what a transaction reads about its batch's fids stays true until it commits.
That lets the processor decide in Python and write at COPY speed, in three steps:
1. read: which of the batch's hashes are stored, and their state; for the last-write-wins
   tables, the live rows that share a key with the batch (an index probe per key); for casts,
   the stored removes that target the batch's casts;
2. decide every row's final state with the Farcaster conflict rules:
   - a stored row only ever gains a deleted/pruned/revoked mark, never loses one (so applying
     the same batch again changes nothing);
   - casts: remove wins - a cast whose CastRemove (by its author) is stored is deleted by it,
     whichever came first;
   - reactions, links, verifications: last write wins, a remove wins a timestamp tie, then the
     higher hash; user data: the newest per (fid, type) wins. A live loser is marked deleted by
     the winner; rows already deleted keep the displacing hash the hub gave;
3. write: COPY the new rows straight into their tables, one UPDATE per table for the stored
   rows whose state changes (usually none), then fold profiles and expand the target graph.
The unique hash keys stay the last guard: a writer that skipped the lock would fail its COPY
with a unique violation (and be retried), never store a row twice.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import orjson
from psycopg.errors import UniqueViolation
from sqlalchemy import Connection, text

from app.farcaster import targets
from app.farcaster.batch import Batch
from app.farcaster.messages import ParsedMessage
from app.farcaster.targets import TargetChanges
from app.platform import leases

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
STATE_COLUMNS = ("deleted_at", "deleted_by", "pruned_at", "revoked_at")
# Conflict keys of the last-write-wins tables: (table, the key's columns after fid with their
# array types and their positions in ParsedMessage.values). Reactions target a cast or a URL:
# two keys, so every lookup is an equality without NULLs.
LWW_KEYS = (
    ("reactions", (("reaction_type", "smallint", 1), ("target_cast_hash", "bytea", 3))),
    ("reactions", (("reaction_type", "smallint", 1), ("target_url", "text", 4))),
    ("links", (("link_type", "text", 1), ("target_fid", "bigint", 2))),
    ("verifications", (("address", "bytea", 1),)),
    ("user_data", (("user_data_type", "text", 0),)),
)
MESSAGES_PER_FID_TO_ASK = 8  # a batch with this many messages per fid asks which fids have rows
LOCK_CLASS = 0x4643  # advisory lock namespace ("FC")
LOCK_BUCKETS = 1024
PROFILE_FIELDS = {"USER_DATA_TYPE_USERNAME": "username", "USER_DATA_TYPE_DISPLAY": "display_name",
                  "USER_DATA_TYPE_PFP": "pfp_url", "USER_DATA_TYPE_BIO": "bio", "USER_DATA_TYPE_URL": "url"}
LIVE = "deleted_at IS NULL AND pruned_at IS NULL AND revoked_at IS NULL"


@dataclass
class ApplyResult:
    messages: int = 0
    onchain_events: int = 0
    username_proofs: int = 0
    targets: TargetChanges = field(default_factory=TargetChanges)
    backfill_requests: list[tuple[int, int]] = field(default_factory=list)  # (request id, fid) to send


@dataclass(slots=True)
class _State:
    """A row's soft-delete state: (deleted, deleted_by, pruned, revoked)."""

    deleted: bool
    deleted_by: bytes | None
    pruned: bool
    revoked: bool

    @property
    def live(self) -> bool:
        return not (self.deleted or self.pruned or self.revoked)

    def merged(self, new: "_State") -> "_State":
        """This stored state after a batch says ``new``: marks are only ever gained; a deleted
        row keeps the displacing hash it has."""
        return _State(self.deleted or new.deleted,
                      new.deleted_by if not self.deleted else (self.deleted_by or new.deleted_by),
                      self.pruned or new.pruned, self.revoked or new.revoked)


def _pg_array(ints: list[int]) -> str:
    """An int array in PostgreSQL's text form: COPY parses it, with no per-element adaptation."""
    return "{" + ",".join(map(str, ints)) + "}"


def _raw(conn: Connection):
    return conn.connection.driver_connection


# Every lookup and update of a batch is an index probe by key. Statistics of tables that grow
# fast (a backfill from empty) lag behind - autoanalyze runs at most once a minute - and a stale
# estimate turned probes into scans of whole tables; so, for the processor's own statements,
# the planner may not choose scans and hash or merge joins (reset when apply_batch ends).
_PROBES_ONLY = ("enable_seqscan", "enable_hashjoin", "enable_mergejoin")


_LOCK_FIDS = text(f"""
    SELECT now(), count(pg_advisory_xact_lock(:cls, b)),
           {", ".join(f"set_config('{g}', 'off', true)" for g in _PROBES_ONLY)}
    FROM (SELECT b FROM unnest(CAST(:b AS int[])) b ORDER BY b) s
""")


def lock_fids(conn: Connection, fids) -> datetime:
    """Take the fids' bucket locks (in order) and plan by probes; returns now()."""
    buckets = sorted({f % LOCK_BUCKETS for f in fids})
    return conn.execute(_LOCK_FIDS, {"cls": LOCK_CLASS, "b": buckets}).one()[0]


class _Plan:
    """The decisions for one batch: every batch row's final state, and the stored rows (in the
    batch or not) whose state changes."""

    def __init__(self, batch: Batch) -> None:
        self.batch = batch
        self.by_table: dict[str, list[ParsedMessage]] = defaultdict(list)
        for m in batch.messages.values():
            self.by_table[m.table].append(m)
        self.state: dict[bytes, _State] = {}
        for h in batch.messages:
            by = batch.deleted_by.get(h)
            self.state[h] = _State(by is not None, by, h in batch.pruned, h in batch.revoked)
        self.stored: set[bytes] = set()
        self.updates: dict[str, dict[bytes, _State]] = defaultdict(dict)  # table -> hash -> new state
        self.fids_with_rows: dict[str, set[int]] | None = None  # None: not asked, assume rows

    def read_fids_with_rows(self, cur) -> None:
        """For a batch of few fids (a backfill: one fid, hundreds of rows), ask first which of
        them have rows in each table. A fid new to a table has no stored hash there, no key to
        compete with and no remove (removes are by the cast's author), so its rows skip the
        other lookups. A batch of many fids (realtime) would spend about what it saves."""
        fids = sorted({m.fid for m in self.batch.messages.values()})
        if len(fids) * MESSAGES_PER_FID_TO_ASK > len(self.batch.messages):
            return
        tables = [t for t in COLUMNS if self.by_table.get(t) or (t == "cast_removes" and self.by_table.get("casts"))]
        cur.execute(" UNION ALL ".join(f"SELECT '{t}', f FROM unnest(%b::bigint[]) AS f "
                                       f"WHERE EXISTS (SELECT 1 FROM farcaster_{t} WHERE fid = f)" for t in tables),
                    [fids] * len(tables))
        self.fids_with_rows = defaultdict(set)
        for table, fid in cur:
            self.fids_with_rows[table].add(fid)

    def may_have_rows(self, table: str, fid: int) -> bool:
        return self.fids_with_rows is None or fid in self.fids_with_rows[table]

    def read_stored(self, cur, *, expect_new: bool = False) -> None:
        """Merge the stored state of the batch's hashes that are already stored. With
        ``expect_new``, only the hashes the batch itself names as stored before (deleted
        messages, prunes, revokes) are looked up: the others are taken as new, and the COPY's
        unique keys refuse any that is not."""
        named = self.batch.deleted_by.keys() | self.batch.pruned | self.batch.revoked if expect_new else None
        hashes = {t: [m.hash for m in self.by_table[t]
                      if self.may_have_rows(t, m.fid) and (named is None or m.hash in named)] for t in COLUMNS}
        tables = [t for t in COLUMNS if hashes[t]]
        if not tables:
            return
        query = " UNION ALL ".join(
            f"SELECT '{t}', hash, deleted_at IS NOT NULL, deleted_by, pruned_at IS NOT NULL, revoked_at IS NOT NULL "
            f"FROM farcaster_{t} WHERE hash = ANY(%b)" for t in tables)
        cur.execute(query, [hashes[t] for t in tables])
        for table, h, deleted, deleted_by, pruned, revoked in cur:
            stored = _State(deleted, deleted_by, pruned, revoked)
            merged = stored.merged(self.state[h])
            self.state[h] = merged
            self.stored.add(h)
            if merged != stored:
                self.updates[table][h] = merged

    def mark_deleted(self, table: str, h: bytes, by: bytes) -> None:
        """Mark a live or undeleted row deleted by ``by`` (a batch row, or a stored one)."""
        state = self.state.get(h)
        if state is None:  # a stored row outside the batch
            self.updates[table][h] = _State(True, by, False, False)
            return
        state.deleted, state.deleted_by = True, by
        if h in self.stored:
            self.updates[table][h] = state

    def last_write_wins(self, cur) -> None:
        for table, key in LWW_KEYS:
            rows = self.by_table.get(table)
            if not rows:
                continue
            groups: dict[tuple, list[tuple]] = defaultdict(list)  # key -> [(timestamp, order, hash)]
            for m in rows:
                k = (m.fid, *(m.values[i] for _, _, i in key))
                if None in k:
                    continue
                if self.state[m.hash].live:
                    groups[k].append((m.timestamp, m.values[0] if table != "user_data" else 0, m.hash))
                else:
                    groups.setdefault(k, [])
            keys = [k for k in groups if self.may_have_rows(table, k[0])]
            if keys:  # live stored rows of these keys join the batch's own candidates
                self._read_live(cur, table, key, keys, groups)
            for candidates in groups.values():
                if len(candidates) > 1:
                    winner = max(candidates)[2]
                    for _, _, h in candidates:
                        if h != winner:
                            self.mark_deleted(table, h, winner)

    def _read_live(self, cur, table: str, key: tuple, keys: list[tuple], groups: dict) -> None:
        # LATERAL makes each key one index probe, whatever the (often stale, during bulk
        # loads) statistics say.
        names = [c for c, _, _ in key]
        cur.execute(f"""
            SELECT x.hash, k.fid, {", ".join(f"k.{c}" for c in names)}, x.timestamp, x.mt
            FROM unnest(%b::bigint[], {", ".join(f"%b::{t}[]" for _, t, _ in key)}) AS k(fid, {", ".join(names)})
            CROSS JOIN LATERAL (
                SELECT l.hash, l.timestamp, {"l.message_type" if table != "user_data" else "0"} AS mt
                FROM farcaster_{table} l
                WHERE l.fid = k.fid AND {" AND ".join(f"l.{c} = k.{c}" for c in names)} AND {LIVE}
                OFFSET 0  -- a fence: stops the planner from flattening this into a join
            ) x
        """, [[k[i] for k in keys] for i in range(len(key) + 1)])
        for h, *k, ts, mt in cur:
            if h not in self.state:  # rows of the batch are in the groups already, with their new state
                groups[tuple(k)].append((ts, mt, h))

    def remove_wins_for_casts(self, cur) -> list[tuple[bytes, bytes, int]]:
        """Decide casts against removes; returns (cast hash, remove hash, fid) for stored casts
        outside the batch that a remove in it deletes. A remove only deletes a cast of its own
        author, as on a hub, where each fid's store holds its own casts."""
        casts = {m.hash: m.fid for m in self.by_table.get("casts", ())}
        outside = []
        for r in self.by_table.get("cast_removes", ()):
            target = r.values[0]
            if target in casts:
                if casts[target] == r.fid and not self.state[target].deleted:
                    self.mark_deleted("casts", target, r.hash)
            else:
                outside.append((target, r.hash, r.fid))
        undeleted = [m.hash for m in self.by_table.get("casts", ())
                     if not self.state[m.hash].deleted and self.may_have_rows("cast_removes", m.fid)]
        if undeleted:
            cur.execute("SELECT target_hash, hash, fid FROM farcaster_cast_removes WHERE target_hash = ANY(%b)",
                        [undeleted])
            for target, remove, fid in cur:
                if casts[target] == fid and not self.state[target].deleted:
                    self.mark_deleted("casts", target, remove)
        return outside

    def new_rows(self, table: str, now: datetime):
        for m in self.by_table[table]:
            if m.hash in self.stored:
                continue
            s = self.state[m.hash]
            values = m.values if table != "casts" else (*m.values[:5], _pg_array(m.values[5]),
                                                        _pg_array(m.values[6]), orjson.dumps(m.values[7]).decode())
            yield (m.hash, m.fid, m.timestamp, m.signer, *values, now if s.deleted else None, s.deleted_by,
                   now if s.pruned else None, now if s.revoked else None)


def _write(cur, plan: _Plan, now: datetime, casts_removed: list[tuple[bytes, bytes, int]]) -> None:
    for table in COLUMNS:
        rows = list(plan.new_rows(table, now)) if plan.by_table.get(table) else None
        if rows:  # none when every row of the table is stored already (a redelivery)
            with cur.copy(f"COPY farcaster_{table} ({', '.join(BASE_COLUMNS + COLUMNS[table] + STATE_COLUMNS)}) "
                          "FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
    for table, changes in plan.updates.items():
        if changes:
            hashes = list(changes)
            cur.execute(f"""
                UPDATE farcaster_{table} t SET
                    deleted_at = CASE WHEN u.deleted THEN COALESCE(t.deleted_at, now()) END, deleted_by = u.deleted_by,
                    pruned_at = CASE WHEN u.pruned THEN COALESCE(t.pruned_at, now()) END,
                    revoked_at = CASE WHEN u.revoked THEN COALESCE(t.revoked_at, now()) END
                FROM unnest(%b::bytea[], %b::bool[], %b::bytea[], %b::bool[], %b::bool[])
                     AS u(hash, deleted, deleted_by, pruned, revoked)
                WHERE t.hash = u.hash
            """, [hashes, [changes[h].deleted for h in hashes], [changes[h].deleted_by for h in hashes],
                  [changes[h].pruned for h in hashes], [changes[h].revoked for h in hashes]])
    if casts_removed:
        cur.execute("""
            UPDATE farcaster_casts c SET deleted_at = now(), deleted_by = u.remove
            FROM unnest(%b::bytea[], %b::bytea[], %b::bigint[]) AS u(target, remove, fid)
            WHERE c.hash = u.target AND c.fid = u.fid AND c.deleted_at IS NULL
        """, [[t for t, _, _ in casts_removed], [r for _, r, _ in casts_removed], [f for _, _, f in casts_removed]])


def _fold_profiles_statement():
    named = ", ".join(f"max(u.value) FILTER (WHERE u.user_data_type = '{t}') AS {c}" for t, c in PROFILE_FIELDS.items())
    known = ", ".join(f"'{t}'" for t in PROFILE_FIELDS)
    cols = ", ".join(PROFILE_FIELDS.values())
    return text(f"""
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
    """)


_FOLD_PROFILES = _fold_profiles_statement()


def _fold_profiles(conn: Connection, fids: list[int]) -> None:
    conn.execute(_FOLD_PROFILES, {"fids": fids})


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


def _decide_and_write(conn: Connection, plan: _Plan, now: datetime, *, expect_new: bool = False) -> None:
    with _raw(conn).cursor() as cur:
        plan.read_fids_with_rows(cur)
        plan.read_stored(cur, expect_new=expect_new)
        casts_removed = plan.remove_wins_for_casts(cur)
        plan.last_write_wins(cur)
        _write(cur, plan, now, casts_removed)


def apply_batch(conn: Connection, batch: Batch, *, reason: str = "event", expect_new: bool = False,
                replay_since: tuple[int, int] | None = None) -> ApplyResult:
    """Store everything in ``batch`` and expand the target graph; run inside a transaction.

    ``expect_new`` suits a batch from the event stream, whose merged messages are new but for a
    rare overlap with a backfill: it looks up only the hashes the batch names as stored before
    and writes under a savepoint; a unique violation (a "new" row was stored) rolls the
    savepoint back and the batch is decided again with every hash looked up. Either way the
    outcome is the same; the lookup it skips cost PostgreSQL about as much as the COPY.

    Fids that become targets get a replay of the stream's events about them (replay.py), from
    ``replay_since`` = (shard, event id) when the batch came from the stream, else from the
    cursors."""
    from app.farcaster import backfill, replay  # late: backfill imports this module

    leases.fence(conn)  # a worker whose lease was taken over writes nothing
    result = ApplyResult(len(batch.messages), len(batch.onchain), len(batch.proofs))
    plan = _Plan(batch)
    if batch.messages:
        now = lock_fids(conn, {m.fid for m in batch.messages.values()})
        if expect_new:
            try:
                with conn.begin_nested():
                    _decide_and_write(conn, plan, now, expect_new=True)
            except UniqueViolation:  # some "new" rows were stored already: decide again, knowing all
                plan = _Plan(batch)
                _decide_and_write(conn, plan, now)
        else:
            _decide_and_write(conn, plan, now)
    if plan.by_table.get("user_data"):
        _fold_profiles(conn, sorted({m.fid for m in plan.by_table["user_data"]}))
    if batch.onchain:
        _insert_onchain(conn, batch)
    if batch.proofs:
        _insert_proofs(conn, batch)

    # Graph expansion: follows by roots and signer adds requested by client apps.
    follows = [(m.fid, m.values[2]) for m in plan.by_table.get("links", ()) if m.values[1] == "follow"]
    if follows:
        roots = set(conn.execute(text("SELECT fid FROM farcaster_targets WHERE fid = ANY(:f) AND is_root"),
                                 {"f": sorted({f for f, _ in follows})}).scalars())
        followed = sorted({t for f, t in follows if f in roots})
        if followed:
            result.targets.merge(targets.refresh_followed(conn, followed))
    app_signers = [(e.fid, e.request_fid) for e in batch.onchain if e.is_signer_add and e.request_fid is not None]
    if app_signers:
        apps = set(conn.execute(text("SELECT fid FROM farcaster_client_apps WHERE fid = ANY(:a)"),
                                {"a": sorted({a for _, a in app_signers})}).scalars())
        result.targets.merge(targets.make_app_roots(conn, [(u, a) for u, a in app_signers if a in apps]))
    if result.targets.to_backfill:
        result.backfill_requests = backfill.request_backfills(conn, result.targets.to_backfill, reason=f"graph:{reason}")
    if result.targets.added:
        replay.request(conn, result.targets.added, since=replay_since, reason=f"graph:{reason}")
    if batch.messages:
        with _raw(conn).cursor() as cur:
            cur.execute("; ".join(f"RESET {g}" for g in _PROBES_ONLY))
    return result
