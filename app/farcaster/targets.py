"""The target set in PostgreSQL (the durable truth; target_cache.py mirrors it in Redis).

A fid is a target while one reason holds: ``manual`` (an operator added it), ``client_app_fid``
(it added a signer requested by a client app: a root), or ``followed_by_root``.

Unfollow policy: when a root's follow goes (LINK_REMOVE of type follow, or the root itself
is removed) the followed fid stops being a target once no root follows it any more and no
other reason holds. Its stored rows are kept (history stays queryable); it is no longer
updated. Followed fids never make further targets (roots + their follows is the fixpoint).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, text


@dataclass
class TargetChanges:
    added: set[int] = field(default_factory=set)  # new targets (need a backfill)
    new_roots: set[int] = field(default_factory=set)  # became roots (need a backfill to expand their follows)
    removed: set[int] = field(default_factory=set)

    def merge(self, other: "TargetChanges") -> None:
        self.added |= other.added
        self.new_roots |= other.new_roots
        self.removed |= other.removed

    @property
    def to_backfill(self) -> set[int]:
        return self.added | self.new_roots


def add_manual(conn: Connection, fid: int, *, root: bool) -> TargetChanges:
    row = conn.execute(text("""
        INSERT INTO farcaster_targets (fid, is_root, manual, manual_root, followed_by_root)
        VALUES (:fid, :root, true, :root, false)
        ON CONFLICT (fid) DO UPDATE SET manual = true,
            manual_root = farcaster_targets.manual_root OR EXCLUDED.manual_root,
            is_root = farcaster_targets.is_root OR EXCLUDED.manual_root, updated_at = now()
        RETURNING (xmax = 0) AS inserted, is_root
    """), {"fid": fid, "root": root}).one()
    changes = TargetChanges()
    if row.inserted:
        changes.added.add(fid)
    elif root:
        changes.new_roots.add(fid)
    if root:
        changes.merge(refresh_followed(conn, _follows_of(conn, [fid])))
    return changes


def remove_manual(conn: Connection, fid: int) -> TargetChanges:
    """Drop the operator's reason; the fid stays a target if another reason holds."""
    was_root = conn.execute(text("SELECT is_root FROM farcaster_targets WHERE fid = :f FOR UPDATE"), {"f": fid}).scalar()
    if was_root is None:
        return TargetChanges()
    conn.execute(text("""
        UPDATE farcaster_targets SET manual = false, manual_root = false,
            is_root = client_app_fid IS NOT NULL, updated_at = now() WHERE fid = :f
    """), {"f": fid})
    changes = _drop_unjustified(conn, [fid])
    if was_root:
        changes.merge(refresh_followed(conn, _follows_of(conn, [fid])))
    return changes


def add_client_app(conn: Connection, app_fid: int) -> bool:
    return bool(conn.execute(text("""
        INSERT INTO farcaster_client_apps (fid) VALUES (:f) ON CONFLICT (fid) DO NOTHING RETURNING fid
    """), {"f": app_fid}).first())


def make_app_roots(conn: Connection, users: list[tuple[int, int]]) -> TargetChanges:
    """(user fid, client app fid) pairs from signer adds: each user becomes a root."""
    changes = TargetChanges()
    if not users:
        return changes
    pairs = sorted(set(users))
    rows = conn.execute(text("""
        WITH before AS (
            SELECT fid, is_root FROM farcaster_targets WHERE fid = ANY(:fids)
        ), up AS (
            INSERT INTO farcaster_targets (fid, is_root, manual, manual_root, client_app_fid, followed_by_root)
            SELECT DISTINCT ON (u.fid) u.fid, true, false, false, u.app, false
            FROM unnest(CAST(:fids AS bigint[]), CAST(:apps AS bigint[])) AS u(fid, app) ORDER BY u.fid, u.app
            ON CONFLICT (fid) DO UPDATE SET is_root = true, updated_at = now(),
                client_app_fid = COALESCE(farcaster_targets.client_app_fid, EXCLUDED.client_app_fid)
            RETURNING fid
        )
        SELECT up.fid, before.fid IS NULL AS is_new, COALESCE(before.is_root, false) AS was_root
        FROM up LEFT JOIN before USING (fid)
    """), {"fids": [p[0] for p in pairs], "apps": [p[1] for p in pairs]}).all()
    for r in rows:
        if r.is_new:
            changes.added.add(r.fid)
        elif not r.was_root:
            changes.new_roots.add(r.fid)
    fresh_roots = list(changes.added | changes.new_roots)
    if fresh_roots:
        changes.merge(refresh_followed(conn, _follows_of(conn, fresh_roots)))
    return changes


def _follows_of(conn: Connection, roots: list[int]) -> list[int]:
    return list(conn.execute(text("""
        SELECT DISTINCT target_fid FROM farcaster_links
        WHERE fid = ANY(:r) AND link_type = 'follow'
    """), {"r": roots}).scalars())


def refresh_followed(conn: Connection, fids: list[int] | set[int]) -> TargetChanges:
    """Recompute ``followed_by_root`` for these fids from the active follow links of roots."""
    changes = TargetChanges()
    fids = sorted(set(fids))
    if not fids:
        return changes
    rows = conn.execute(text("""
        WITH wanted AS (
            SELECT f.fid, EXISTS (
                SELECT 1 FROM farcaster_links l JOIN farcaster_targets r ON r.fid = l.fid AND r.is_root
                WHERE l.target_fid = f.fid AND l.link_type = 'follow' AND l.message_type = 5
                  AND l.deleted_at IS NULL AND l.pruned_at IS NULL AND l.revoked_at IS NULL
            ) AS followed
            FROM unnest(CAST(:fids AS bigint[])) AS f(fid)
        ), up AS (
            INSERT INTO farcaster_targets (fid, is_root, manual, manual_root, followed_by_root)
            SELECT fid, false, false, false, true FROM wanted WHERE followed
            ON CONFLICT (fid) DO UPDATE SET followed_by_root = true, updated_at = now()
                WHERE NOT farcaster_targets.followed_by_root
            RETURNING fid, (xmax = 0) AS inserted
        ), down AS (
            UPDATE farcaster_targets t SET followed_by_root = false, updated_at = now()
            FROM wanted w WHERE t.fid = w.fid AND NOT w.followed AND t.followed_by_root
            RETURNING t.fid
        )
        SELECT fid, inserted, false AS dropped FROM up UNION ALL SELECT fid, false, true FROM down
    """), {"fids": fids}).all()
    for r in rows:
        if r.inserted:
            changes.added.add(r.fid)
    dropped = [r.fid for r in rows if r.dropped]
    if dropped:
        changes.merge(_drop_unjustified(conn, dropped))
    return changes


def _drop_unjustified(conn: Connection, fids: list[int]) -> TargetChanges:
    removed = conn.execute(text("""
        DELETE FROM farcaster_targets
        WHERE fid = ANY(:f) AND NOT manual AND client_app_fid IS NULL AND NOT followed_by_root
        RETURNING fid
    """), {"f": fids}).scalars()
    return TargetChanges(removed=set(removed))


def list_targets(conn: Connection, roots_only: bool = False) -> list[dict]:
    rows = conn.execute(text(f"""
        SELECT fid, is_root, manual, client_app_fid, followed_by_root, added_at, last_backfilled_at
        FROM farcaster_targets {"WHERE is_root" if roots_only else ""} ORDER BY fid
    """)).mappings().all()
    return [dict(r) for r in rows]


def target_fids(conn: Connection) -> set[int]:
    return set(conn.execute(text("SELECT fid FROM farcaster_targets")).scalars())


def list_client_apps(conn: Connection) -> list[dict]:
    rows = conn.execute(text("""
        SELECT a.fid, a.added_at, a.users_scanned_at,
               (SELECT count(*) FROM farcaster_targets t WHERE t.client_app_fid = a.fid) AS users
        FROM farcaster_client_apps a ORDER BY a.fid
    """)).mappings().all()
    return [dict(r) for r in rows]
