"""Leases as a test needs them: taken by a process, and taken over behind its back."""
from __future__ import annotations

from itertools import count

from sqlalchemy import Engine, text

from app.platform import leases

_tasks = count(1)


def work(task_name: str = "test.work", **overrides) -> leases.Work:
    values = dict(task_id=f"task-{next(_tasks)}", task_name=task_name, args=[1], kwargs={"x": "y"},
                  queue="maintenance", priority=None, delivery_tag=None)
    values.update(overrides)
    return leases.Work(**values)


def take(engine: Engine, kind: str, key: str, owner: str = "w@a:1", ttl: float = 60,
         **work_overrides) -> leases.Held | None:
    with engine.begin() as conn:
        hostname, _, pid = owner.rpartition(":")
        leases.heartbeat(conn, owner, hostname, int(pid), ttl)
        return leases.take(conn, kind, key, owner, work(kind, **work_overrides))


def expire_owner(engine: Engine, owner: str) -> None:
    """What not heartbeating for LEASE_TTL_SECONDS does: the owner's row is in the past."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE lease_owners SET expires_at = now() - interval '1 second', "
                          "heartbeat_at = now() - interval '21 seconds' WHERE owner = :o"), {"o": owner})


def stale(engine: Engine, kind: str = "test.work", key: str = "k") -> leases.Held:
    """A lease this process took and a sweep then took over (its owner stopped heartbeating)."""
    held = take(engine, kind, key, owner="stale@host:1")
    assert held is not None
    expire_owner(engine, held.owner)
    with engine.begin() as conn:
        assert [t.key for t in leases.take_over_expired(conn)] == [key]
    return held
