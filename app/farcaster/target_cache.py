"""The target sets mirrored in Redis for O(1) relevance checks (SISMEMBER in a pipeline).

Redis may lose everything at any time: PostgreSQL is the truth, and a missing ``ready``
marker makes the next reader rebuild every set from it before answering.
"""
from __future__ import annotations

import logging
import time
from functools import lru_cache

import redis
from sqlalchemy import Engine, text

from app.settings import get_settings

log = logging.getLogger(__name__)

TARGETS, ROOTS, APPS, READY = "farcaster:targets", "farcaster:roots", "farcaster:client_apps", "farcaster:targets:ready"


@lru_cache(maxsize=1)
def cache_client() -> redis.Redis:
    return redis.Redis.from_url(get_settings().cache_url)


class TargetCache:
    def __init__(self, engine: Engine, client: redis.Redis | None = None) -> None:
        self.engine = engine
        self.redis = client or cache_client()

    def rebuild(self) -> dict[str, int]:
        """Replace the sets with PostgreSQL's, atomically (RENAME), then mark them ready."""
        started = time.time()
        with self.engine.connect() as conn:
            targets = list(conn.execute(text("SELECT fid FROM farcaster_targets")).scalars())
            roots = list(conn.execute(text("SELECT fid FROM farcaster_targets WHERE is_root")).scalars())
            apps = list(conn.execute(text("SELECT fid FROM farcaster_client_apps")).scalars())
        pipe = self.redis.pipeline(transaction=True)
        for key, members in ((TARGETS, targets), (ROOTS, roots), (APPS, apps)):
            tmp = f"{key}:rebuild"
            pipe.delete(tmp)
            if members:
                for i in range(0, len(members), 10000):
                    pipe.sadd(tmp, *members[i:i + 10000])
                pipe.rename(tmp, key)
            else:
                pipe.delete(key)
        pipe.set(READY, int(started))
        pipe.execute()
        # A target committed while we read may have been SADDed to the old set: add it again.
        with self.engine.connect() as conn:
            late = conn.execute(text("SELECT fid, is_root FROM farcaster_targets WHERE updated_at >= to_timestamp(:t) - interval '5 seconds'"),
                                {"t": started}).all()
        if late:
            self.add([r.fid for r in late], roots=[r.fid for r in late if r.is_root])
        log.info("target cache rebuilt: %d targets, %d roots, %d client apps", len(targets), len(roots), len(apps))
        return {"targets": len(targets), "roots": len(roots), "client_apps": len(apps)}

    def ensure(self) -> None:
        if not self.redis.exists(READY):
            lock = self.redis.lock("farcaster:targets:rebuild-lock", timeout=60, blocking_timeout=60)
            with lock:
                if not self.redis.exists(READY):
                    self.rebuild()

    def add(self, fids, roots=(), apps=()) -> None:
        pipe = self.redis.pipeline(transaction=False)
        if fids:
            pipe.sadd(TARGETS, *fids)
        if roots:
            pipe.sadd(ROOTS, *roots)
        if apps:
            pipe.sadd(APPS, *apps)
        pipe.execute()

    def remove(self, fids) -> None:
        if fids:
            pipe = self.redis.pipeline(transaction=False)
            pipe.srem(TARGETS, *fids)
            pipe.srem(ROOTS, *fids)
            pipe.execute()

    def members(self, key: str, candidates) -> set[int]:
        """The candidates that are in the set (one round trip)."""
        candidates = list(set(candidates))
        if not candidates:
            return set()
        flags = self.redis.smismember(key, candidates)
        return {c for c, f in zip(candidates, flags) if f}
