"""Work leases: which live worker process runs a unit of work, fenced by an epoch.

A unit of work (kind + key: a task name and what it works on, e.g. a backfill request id)
is *taken* by a worker process before it runs and *released* after. Liveness is per
process, not per lease: each owner process heartbeats its ``lease_owners`` row, and every
lease of an owner whose row expired is dead. (A per-lease heartbeat would have to update the
lease row that a running write transaction holds FOR SHARE, and wait for it.)

Fencing: every take and every take-over raises the lease's epoch. Writes call ``fence(conn)``
in their own transaction; it locks the lease row FOR SHARE and refuses (``LeaseLost``) unless
the epoch is still the one this process took. A take-over locks the same row FOR UPDATE, so a
write and a take-over never interleave: the write commits before it, or is refused after it.

All times come from the database clock (``now()``), never a worker's.
"""
from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, text

log = logging.getLogger(__name__)

RUNNING, RELEASED, RESENT = "running", "released", "resent"


class LeaseLost(BaseException):
    """This process's lease was taken over: its writes are refused.

    A BaseException on purpose: a stale owner must stop, not run the ``except Exception``
    handlers that record the work as failed while its new owner runs it.
    """


@dataclass(frozen=True)
class Held:
    kind: str
    key: str
    epoch: int
    owner: str


@dataclass(frozen=True)
class Work:
    """What it takes to send the work again: the task message's identity and arguments."""

    task_id: str
    task_name: str
    args: list[Any]
    kwargs: dict[str, Any]
    queue: str | None = None
    priority: int | None = None
    delivery_tag: str | None = None


@dataclass(frozen=True)
class TakenOver:
    kind: str
    key: str
    epoch: int
    previous_owner: str | None
    work: Work


current: contextvars.ContextVar[Held | None] = contextvars.ContextVar("switchyard_lease", default=None)


@contextmanager
def holding(held: Held) -> Iterator[Held]:
    """Make ``held`` the lease that ``fence`` checks in this context."""
    token = current.set(held)
    try:
        yield held
    finally:
        current.reset(token)


def owner_id(hostname: str, pid: int) -> str:
    return f"{hostname}:{pid}"


_HEARTBEAT = text("""
    INSERT INTO lease_owners (owner, hostname, pid, started_at, heartbeat_at, expires_at)
    VALUES (:owner, :hostname, :pid, now(), now(), now() + make_interval(secs => :ttl))
    ON CONFLICT (owner) DO UPDATE SET heartbeat_at = now(), expires_at = EXCLUDED.expires_at
""")


def heartbeat(conn: Connection, owner: str, hostname: str, pid: int, ttl: float) -> None:
    """Prove ``owner`` alive for ``ttl`` more seconds (database clock)."""
    conn.execute(_HEARTBEAT, {"owner": owner, "hostname": hostname[:200], "pid": pid, "ttl": ttl})


def retire_owner(conn: Connection, owner: str) -> None:
    """A process exiting on purpose: its leases are free at once, not after the ttl."""
    conn.execute(text("UPDATE lease_owners SET expires_at = now() WHERE owner = :o"), {"o": owner})


_TAKE = text("""
    INSERT INTO leases AS l (kind, key, epoch, state, owner, task_id, task_name, queue, priority, args, kwargs,
                             delivery_tag, taken_at)
    VALUES (:kind, :key, 1, 'running', :owner, :task_id, :task_name, :queue, :priority,
            CAST(:args AS jsonb), CAST(:kwargs AS jsonb), :delivery_tag, now())
    ON CONFLICT (kind, key) DO UPDATE SET
        epoch = l.epoch + 1, state = 'running', owner = EXCLUDED.owner, task_id = EXCLUDED.task_id,
        task_name = EXCLUDED.task_name, queue = EXCLUDED.queue, priority = EXCLUDED.priority,
        args = EXCLUDED.args, kwargs = EXCLUDED.kwargs, delivery_tag = EXCLUDED.delivery_tag,
        taken_at = now(), released_at = NULL,
        previous_owner = CASE WHEN l.state = 'running' THEN l.owner ELSE l.previous_owner END
    WHERE l.state <> 'running'
       OR NOT EXISTS (SELECT 1 FROM lease_owners o WHERE o.owner = l.owner AND o.expires_at > now())
    RETURNING l.epoch
""")


def take(conn: Connection, kind: str, key: str, owner: str, work: Work) -> Held | None:
    """Take the lease for this process; None if a live owner holds it (this is a duplicate).

    The owner's heartbeat row must exist (``heartbeat`` in the same transaction): a lease
    whose owner has no live row counts as dead."""
    epoch = conn.execute(_TAKE, {
        "kind": kind, "key": key, "owner": owner, "task_id": work.task_id, "task_name": work.task_name,
        "queue": work.queue, "priority": work.priority, "args": orjson.dumps(work.args).decode(),
        "kwargs": orjson.dumps(work.kwargs).decode(), "delivery_tag": work.delivery_tag,
    }).scalar()
    return None if epoch is None else Held(kind, key, epoch, owner)


def release(conn: Connection, held: Held) -> bool:
    """Done (or failed, or retrying under a new message): no longer ours. False if taken over."""
    return conn.execute(text("""
        UPDATE leases SET state = 'released', owner = NULL, released_at = now()
        WHERE kind = :kind AND key = :key AND epoch = :epoch AND state = 'running'
    """), {"kind": held.kind, "key": held.key, "epoch": held.epoch}).rowcount == 1


def check(conn: Connection, held: Held) -> None:
    """Refuse this transaction's writes unless ``held`` is still the lease's current epoch.

    The lease row stays locked FOR SHARE until the caller's transaction ends, so no take-over
    commits between this check and the caller's commit."""
    row = conn.execute(text("SELECT epoch, state, owner FROM leases WHERE kind = :kind AND key = :key FOR SHARE"),
                       {"kind": held.kind, "key": held.key}).first()
    if row is None or row.epoch != held.epoch or row.state != RUNNING:
        found = "no lease" if row is None else f"epoch {row.epoch} ({row.state}, owner {row.owner})"
        log.warning("stale write refused: %s %s was taken at epoch %s by %s, now %s",
                    held.kind, held.key, held.epoch, held.owner, found)
        raise LeaseLost(f"{held.kind} {held.key}: lease epoch {held.epoch} is stale ({found})")


def fence(conn: Connection) -> None:
    """``check`` the lease this context runs under; nothing to check outside leased work."""
    held = current.get()
    if held is not None:
        check(conn, held)


_TAKE_OVER = text("""
    WITH dead AS (
        SELECT l.kind, l.key, l.owner AS previous_owner
        FROM leases l LEFT JOIN lease_owners o ON o.owner = l.owner
        WHERE (l.state = 'running' AND (o.owner IS NULL OR o.expires_at <= now()))
           OR (l.state = 'resent' AND l.resent_at < now() - make_interval(secs => :resend_after))
        ORDER BY l.taken_at
        LIMIT :limit
        FOR UPDATE OF l SKIP LOCKED
    )
    UPDATE leases l SET state = 'resent', epoch = l.epoch + 1, owner = NULL, resent_at = now(),
                        resends = l.resends + 1,
                        previous_owner = COALESCE(dead.previous_owner, l.previous_owner)
    FROM dead WHERE l.kind = dead.kind AND l.key = dead.key
    RETURNING l.kind, l.key, l.epoch, dead.previous_owner, l.task_id, l.task_name, l.queue, l.priority,
              l.args, l.kwargs, l.delivery_tag
""")


def take_over_expired(conn: Connection, *, limit: int = 1000, resend_after: float = 600) -> list[TakenOver]:
    """Mark the leases of dead owners re-sent (epoch + 1) and return their work, each once.

    Rows a concurrent sweep (or a write's fence) holds are skipped, so two sweeps never return
    the same lease. A lease re-sent ``resend_after`` seconds ago and still not taken (the
    message was lost with Redis, or the sweep died before sending it) is re-sent again."""
    rows = conn.execute(_TAKE_OVER, {"limit": limit, "resend_after": resend_after}).all()
    return [TakenOver(r.kind, r.key, r.epoch, r.previous_owner,
                      Work(task_id=r.task_id, task_name=r.task_name, args=r.args or [], kwargs=r.kwargs or {},
                           queue=r.queue, priority=r.priority, delivery_tag=r.delivery_tag))
            for r in rows]


def prune(conn: Connection, *, older_than_seconds: float) -> int:
    """Forget released leases taken, and owners dead, longer ago than this (by index: state, taken_at)."""
    gone = conn.execute(text("""
        DELETE FROM leases WHERE state = 'released' AND taken_at < now() - make_interval(secs => :age)
    """), {"age": older_than_seconds}).rowcount
    conn.execute(text("""
        DELETE FROM lease_owners o WHERE o.expires_at < now() - make_interval(secs => :age)
          AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.owner = o.owner)
    """), {"age": older_than_seconds})
    return gone


def running(conn: Connection, *, kind_prefix: str = "", limit: int = 500) -> list[dict[str, Any]]:
    """Work being run now (or waiting to be re-run), with its owner's liveness, oldest first."""
    rows = conn.execute(text("""
        SELECT l.kind, l.key, l.epoch, l.state, l.owner, l.previous_owner, l.task_id, l.resends,
               o.hostname, o.pid, o.heartbeat_at, o.expires_at,
               CAST(EXTRACT(EPOCH FROM now() - l.taken_at) AS float8) AS lease_age_seconds,
               CAST(EXTRACT(EPOCH FROM now() - o.heartbeat_at) AS float8) AS heartbeat_age_seconds,
               COALESCE(o.expires_at > now(), false) AS alive
        FROM leases l LEFT JOIN lease_owners o ON o.owner = l.owner
        WHERE l.state IN ('running', 'resent') AND l.kind LIKE :prefix
        ORDER BY l.taken_at LIMIT :limit
    """), {"prefix": kind_prefix.replace("%", r"\%").replace("_", r"\_") + "%", "limit": limit}).mappings().all()
    return [dict(r) for r in rows]


def for_tasks(conn: Connection, task_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The running lease of each of these task ids, for the job pages."""
    if not task_ids:
        return {}
    rows = conn.execute(text("""
        SELECT l.task_id, l.kind, l.key, l.epoch, l.state, l.owner, o.heartbeat_at,
               CAST(EXTRACT(EPOCH FROM now() - l.taken_at) AS float8) AS lease_age_seconds,
               CAST(EXTRACT(EPOCH FROM now() - o.heartbeat_at) AS float8) AS heartbeat_age_seconds,
               COALESCE(o.expires_at > now(), false) AS alive
        FROM leases l LEFT JOIN lease_owners o ON o.owner = l.owner
        WHERE l.task_id = ANY(:ids) AND l.state IN ('running', 'resent')
    """), {"ids": task_ids}).mappings().all()
    return {r["task_id"]: dict(r) for r in rows}
