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
  difference looks like a broken or unsynced hub, so nothing is deleted and it is logged.
Every row it marks is logged with its hash. A later event that names the real cause fills
``deleted_by`` in.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Engine, text

from app.farcaster import backfill
from app.farcaster.hub_client import HubClient

log = logging.getLogger(__name__)

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
    refused: str | None = None

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def reconcile_fid(engine: Engine, client: HubClient, fid: int, *, grace_seconds: float, max_delete_ratio: float,
                  on_applied=None) -> ReconcileResult:
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
        return result
    if len(eligible) > max(1, int(active_total * max_delete_ratio)):
        result.refused = (f"{len(eligible)} of {active_total} active rows of fid {fid} are not on the hub: "
                          f"more than {max_delete_ratio:.0%}, nothing deleted")
        log.error("farcaster reconcile: %s", result.refused)
        return result
    with engine.begin() as conn:
        for table in LISTED:
            hashes = [h for t, h in eligible if t == table]
            if hashes:
                marked = conn.execute(text(f"""
                    UPDATE farcaster_{table} SET deleted_at = now()
                    WHERE hash = ANY(:h) AND deleted_at IS NULL RETURNING hash
                """), {"h": hashes}).scalars().all()
                result.marked_deleted += len(marked)
                for h in marked:
                    log.warning("farcaster reconcile: fid %s %s 0x%s is no longer on the hub: marked deleted",
                                fid, table, h.hex())
    return result
