"""Backfill requests as operators see them: by state, with ages, errors and the running lease."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from app.farcaster import backfill

STATES = ("pending", "running", "done", "failed")


def counts(conn: Connection) -> dict[str, int]:
    found: dict[str, int] = dict(conn.execute(text("SELECT state, count(*) FROM farcaster_backfill_requests GROUP BY state")).all())
    return {state: found.get(state, 0) for state in STATES}


def listing(conn: Connection, *, state: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Newest first; a running request shows the worker holding its lease and that worker's heartbeat."""
    if state is not None and state not in STATES:
        raise ValueError(f"unknown state {state!r}; one of {', '.join(STATES)}")
    rows = conn.execute(text("""
        SELECT r.id, r.fid, r.state, r.reason, r.pages, r.messages, r.error,
               CAST(EXTRACT(EPOCH FROM now() - r.requested_at) AS float8) AS age_seconds,
               CAST(EXTRACT(EPOCH FROM now() - r.started_at) AS float8) AS running_seconds,
               CAST(EXTRACT(EPOCH FROM r.finished_at - r.started_at) AS float8) AS took_seconds,
               l.owner AS worker, l.epoch AS lease_epoch, l.resends AS lease_resends,
               CAST(EXTRACT(EPOCH FROM now() - o.heartbeat_at) AS float8) AS heartbeat_age_seconds
        FROM farcaster_backfill_requests r
        LEFT JOIN leases l ON l.kind = 'farcaster.backfill_fid' AND l.key = r.id || ':' || r.fid
                          AND r.state = 'running' AND l.state IN ('running', 'resent')
        LEFT JOIN lease_owners o ON o.owner = l.owner
        WHERE CAST(:state AS text) IS NULL OR r.state = :state
        ORDER BY r.id DESC LIMIT :limit
    """), {"state": state, "limit": limit}).mappings().all()
    return [dict(r) for r in rows]


def resend_failed(conn: Connection) -> list[tuple[int, int]]:
    """A new pending request for every fid whose latest request failed and that is still a target;
    returns the new (id, fid)s to send (after the caller's commit)."""
    fids = list(conn.execute(text("""
        SELECT DISTINCT ON (r.fid) r.fid, r.state FROM farcaster_backfill_requests r
        JOIN farcaster_targets t ON t.fid = r.fid
        ORDER BY r.fid, r.id DESC
    """)).all())
    return backfill.request_backfills(conn, [f.fid for f in fids if f.state == "failed"], reason="resend-failed")
