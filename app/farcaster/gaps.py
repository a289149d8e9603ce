"""Retention gaps: when a cursor fell behind the hub's retained events, what happened in
between is gone from the stream, so everything the stream would have told us is re-derived:
client-app discovery runs again for every app (signer adds - on-chain or gasless - inside the
gap made roots), and every target is reconciled once (its follows expand the graph; vanished
rows are marked). Gaps that several shards detect close together are one recovery: a gap
seen while one is pending joins it (the partial unique index on state = 'pending')."""
from __future__ import annotations

from sqlalchemy import Connection, Engine, text


def request(conn: Connection, reason: str) -> int:
    """Record a gap (joins the pending recovery if there is one); returns the recovery's id."""
    return conn.execute(text("""
        INSERT INTO farcaster_gap_recoveries (reasons) VALUES (ARRAY[CAST(:r AS text)])
        ON CONFLICT (state) WHERE state = 'pending'
        DO UPDATE SET reasons = farcaster_gap_recoveries.reasons || EXCLUDED.reasons
        RETURNING id
    """), {"r": reason}).scalar_one()


def claim(engine: Engine) -> tuple[int, list[str]] | None:
    """Take the pending recovery (None if there is none): later gaps make a new one."""
    with engine.begin() as conn:
        row = conn.execute(text("""
            UPDATE farcaster_gap_recoveries SET state = 'running'
            WHERE id = (SELECT id FROM farcaster_gap_recoveries WHERE state = 'pending' FOR UPDATE SKIP LOCKED)
            RETURNING id, reasons
        """)).first()
    return (row.id, list(row.reasons)) if row else None


def finish(engine: Engine, recovery_id: int, apps: int, targets: int) -> None:
    with engine.begin() as conn:
        conn.execute(text("""
            UPDATE farcaster_gap_recoveries SET state = 'done', finished_at = now(), apps = :a, targets = :t
            WHERE id = :i
        """), {"i": recovery_id, "a": apps, "t": targets})
