"""Reconciliation of one fid: hub -> database (insert what is missing, through the same
processor as everything else) and database -> hub (rows the hub no longer lists).

Delete policy (Shuttle's automatic version was reverted as unsafe, so this one is narrow):
a row active in the database but absent from the hub's listing is marked deleted
(``deleted_at`` set, ``deleted_by`` left NULL: cause unknown) only when
- the hub listed every endpoint of the fid to the end in this run (any error aborts first),
- its type is one the hub lists (adds of casts, reactions, links, verifications, user data,
  and cast removes; reaction/link removes are not listed by any endpoint, so never touched),
- the row was stored more than FARCASTER_RECONCILE_GRACE_SECONDS ago (no race with an event
  being applied), and
- at most FARCASTER_RECONCILE_MAX_DELETE_RATIO of the fid's active rows would go; a larger
  difference looks like a broken or unsynced hub, so nothing is deleted: the refusal is
  logged, kept in ``farcaster_reconcile_refusals`` (``switchyard farcaster reconcile-refusals``,
  metric ``switchyard_farcaster_reconcile_refused``) until an operator who checked the hub runs
  ``switchyard farcaster reconcile FID --allow-deletes``, which skips the ratio (not the grace).
Where the hub's storage limits show the store is full and the vanished row is no newer than
the oldest message the hub still has there, the hub pruned it: the row is marked pruned.
Nothing else is inferred - in particular never a revocation (since engine V14 removing a
signer revokes nothing; older hubs say so with REVOKE_MESSAGE events, applied as they come).
Every row it marks is logged with its hash. A later event that names the real cause fills
``deleted_by`` in.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, text

from app.farcaster import backfill
from app.farcaster.hub_client import HubClient, HubRequestError
from app.farcaster.messages import fc_time

log = logging.getLogger(__name__)

STORE_OF_TABLE = {"casts": "CASTS", "cast_removes": "CASTS", "reactions": "REACTIONS", "links": "LINKS",
                  "verifications": "VERIFICATIONS", "user_data": "USER_DATA"}  # storageLimitsByFid names
LISTED = {  # table -> condition for rows the per-fid endpoints list
    "casts": "true", "cast_removes": "true", "reactions": "message_type = 3", "links": "message_type = 5",
    "verifications": "message_type = 7", "user_data": "true",
}


@dataclass
class ReconcileResult:
    fid: int
    hub_messages: int
    missing_inserted_pages: int
    db_only: int
    marked_deleted: int
    marked_pruned: int = 0
    refused: str | None = None

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def full_stores(client: HubClient, fid: int) -> dict[str, int]:
    """Stores of the fid that are at their limit: name -> earliest timestamp the hub reports (0 if
    none). A hub prunes a store's oldest messages only when it is full."""
    try:
        body = client.get("/v1/storageLimitsByFid", fid=fid)
    except HubRequestError:
        return {}
    out = {}
    for lim in body.get("limits") or ():
        if not isinstance(lim, dict):
            continue
        used, limit, name = lim.get("used"), lim.get("limit"), lim.get("name")
        if isinstance(used, int) and isinstance(limit, int) and isinstance(name, str) and 0 < limit <= used:
            earliest = lim.get("earliestTimestamp")
            out[name] = earliest if isinstance(earliest, int) else 0
    return out


def reconcile_fid(engine: Engine, client: HubClient, fid: int, *, grace_seconds: float, max_delete_ratio: float,
                  on_applied=None, allow_deletes: bool = False) -> ReconcileResult:
    stats = backfill.fetch_and_store(engine, client, fid, on_applied=on_applied, reason="reconcile")
    seen = list(stats.seen_hashes)
    db_only: list[tuple[str, bytes, bool]] = []
    active_total = 0
    with engine.connect() as conn:
        for table, cond in LISTED.items():
            active_total += conn.execute(text(f"""
                SELECT count(*) FROM farcaster_{table} WHERE fid = :f AND {cond}
                  AND deleted_at IS NULL AND pruned_at IS NULL AND revoked_at IS NULL
            """), {"f": fid}).scalar_one()
            rows = conn.execute(text(f"""
                SELECT hash, created_at < now() - make_interval(secs => :grace) AS old_enough
                FROM farcaster_{table}
                WHERE fid = :f AND {cond} AND deleted_at IS NULL AND pruned_at IS NULL AND revoked_at IS NULL
                  AND NOT (hash = ANY(:seen))
            """), {"f": fid, "seen": seen, "grace": grace_seconds}).all()
            db_only += [(table, r.hash, r.old_enough) for r in rows]
    result = ReconcileResult(fid, len(seen), stats.pages, len(db_only), 0)
    eligible = [(t, h) for t, h, old in db_only if old]
    if not eligible:
        _clear_refusal(engine, fid)
        return result
    if len(eligible) > max(1, int(active_total * max_delete_ratio)) and not allow_deletes:
        result.refused = (f"{len(eligible)} of {active_total} active rows of fid {fid} are not on the hub: "
                          f"more than {max_delete_ratio:.0%}, nothing deleted (check the hub, then "
                          f"`switchyard farcaster reconcile {fid} --allow-deletes`)")
        log.error("farcaster reconcile: %s", result.refused)
        with engine.begin() as conn:
            conn.execute(text("""
                INSERT INTO farcaster_reconcile_refusals (fid, rows, active_rows, reason) VALUES (:f, :r, :a, :why)
                ON CONFLICT (fid) DO UPDATE SET rows = EXCLUDED.rows, active_rows = EXCLUDED.active_rows,
                    reason = EXCLUDED.reason, refused_at = now()
            """), {"f": fid, "r": len(eligible), "a": active_total, "why": result.refused})
        return result
    full = full_stores(client, fid)
    with engine.begin() as conn:
        for table in LISTED:
            hashes = [h for t, h in eligible if t == table]
            if not hashes:
                continue
            pruned: list[bytes] = []
            earliest: datetime | None = None
            store = STORE_OF_TABLE[table]
            if store in full:
                # Older than (or as old as) the oldest message the hub keeps in that store: pruned.
                earliest = conn.execute(text(f"""
                    SELECT min(timestamp) FROM farcaster_{table} WHERE hash = ANY(:seen)
                """), {"seen": seen}).scalar()
                if full[store]:
                    hub_earliest = fc_time(full[store])
                    earliest = hub_earliest if earliest is None else min(earliest, hub_earliest)
            if earliest is not None:
                pruned = list(conn.execute(text(f"""
                    UPDATE farcaster_{table} SET pruned_at = now()
                    WHERE hash = ANY(:h) AND pruned_at IS NULL AND deleted_at IS NULL AND timestamp <= :e
                    RETURNING hash
                """), {"h": hashes, "e": earliest}).scalars())
                result.marked_pruned += len(pruned)
                for h in pruned:
                    log.warning("farcaster reconcile: fid %s %s 0x%s was pruned by the hub (store full): marked pruned",
                                fid, table, h.hex())
            marked = conn.execute(text(f"""
                UPDATE farcaster_{table} SET deleted_at = now()
                WHERE hash = ANY(:h) AND deleted_at IS NULL AND pruned_at IS NULL RETURNING hash
            """), {"h": [h for h in hashes if h not in set(pruned)]}).scalars().all()
            result.marked_deleted += len(marked)
            for h in marked:
                log.warning("farcaster reconcile: fid %s %s 0x%s is no longer on the hub: marked deleted",
                            fid, table, h.hex())
        conn.execute(text("DELETE FROM farcaster_reconcile_refusals WHERE fid = :f"), {"f": fid})
    return result


def _clear_refusal(engine: Engine, fid: int) -> None:
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM farcaster_reconcile_refusals WHERE fid = :f"), {"f": fid})


def list_refusals(conn) -> list[dict]:
    rows = conn.execute(text("SELECT fid, rows, active_rows, refused_at, reason FROM farcaster_reconcile_refusals "
                             "ORDER BY refused_at DESC")).mappings().all()
    return [dict(r) for r in rows]
