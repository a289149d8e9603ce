"""RedBeat that outlives Redis losing its data or restarting.

Stock RedBeat exits when extending its lock fails (FLUSHALL, a Redis restart without persistence,
or the lock expiring while beat was paused) and blocks at start-up until it holds the lock. This
scheduler instead treats the lock as a lease it checks every tick: it extends it while it holds it,
tries to take it (without blocking) when it does not, and sends nothing while another beat holds
it. A standby therefore takes over at most one standby poll after the active beat's lock expires.
When the schedule's keys are gone (lost data) the holder writes them again from the static
schedule; when the broker's marker key is gone it binds every queue again and has the lost
messages re-sent (app/platform/lost_messages.py). A Redis error during a tick is logged and
retried instead of ending the process.
"""
from __future__ import annotations

import logging
from typing import Any

import redis
from celery import beat
from celery.signals import beat_init
from redbeat import schedulers as redbeat
from redis.exceptions import LockError

log = logging.getLogger("celery.beat")

STANDBY_POLL_SECONDS = 1.0  # how often a beat without the lock tries to take it (one SET NX)
REDIS_RETRY_SECONDS = 2.0  # after a Redis error, the next tick is this soon

# Start-up must not block on the lock (stock RedBeat waits there forever and cannot survive a
# Redis outage meanwhile); tick() takes it instead.
beat_init.disconnect(redbeat.acquire_distributed_beat_lock)


class ResilientRedBeatScheduler(redbeat.RedBeatScheduler):
    lock: Any = None  # redis-py's Lock once made

    def __init__(self, app: Any, **kwargs: Any) -> None:
        self._schedule_written = False
        self._broker_redis: redis.Redis | None = None
        self.holding = False
        super().__init__(app, **kwargs)

    # --- schedule -----------------------------------------------------------
    def setup_schedule(self) -> None:
        try:
            super().setup_schedule()
        except redis.RedisError as exc:
            log.warning("beat: cannot write the schedule to Redis yet (%s); retrying every tick", exc)
            return
        self._schedule_written = True

    def _ensure_schedule(self) -> None:
        """Write the static schedule again if Redis lost it (FLUSHALL, restart without persistence)."""
        client = redbeat.get_redis(self.app)
        if self._schedule_written and client.exists(self.app.redbeat_conf.statics_key):
            return
        if self._schedule_written:
            log.warning("beat: the schedule is gone from Redis (data lost); writing it again")
        self._schedule_written = False
        self.setup_schedule()

    def _check_broker_data(self) -> None:
        """If the broker's Redis lost its data since the last tick, have the lost messages re-sent."""
        from datetime import datetime, timezone

        from app.platform.lost_messages import MARKER_KEY, RESEND_TASK

        if self._broker_redis is None:
            self._broker_redis = redis.Redis.from_url(self.app.conf.broker_url, socket_connect_timeout=5,
                                                      socket_timeout=10)
        if self._broker_redis.exists(MARKER_KEY):
            return
        # Marker first: data lost again while sending is then noticed at the next tick.
        self._broker_redis.set(MARKER_KEY, datetime.now(timezone.utc).isoformat())
        try:
            self._declare_queues()
            self.app.send_task(RESEND_TASK)
        except BaseException:
            self._broker_redis.delete(MARKER_KEY)  # try again next tick
            raise
        log.warning("beat: the broker's Redis has no marker (lost data, or a new install); "
                    "asked for pending jobs to be sent again")

    def _declare_queues(self) -> None:
        """Bind every queue again: kombu routes by binding sets in Redis, and a producer that
        already declared a queue does not do it again, so after lost data its messages would go
        to no queue until the workers restarted."""
        from workers.pools import QUEUES

        with self.app.connection_for_write() as conn:
            channel = conn.default_channel
            for name in QUEUES:
                self.app.amqp.queues[name].bind(channel).declare()
        log.info("beat: declared the %d queues again", len(QUEUES))

    # --- lock ---------------------------------------------------------------
    def _new_lock(self) -> Any:
        client = redbeat.get_redis(self.app)
        lock = client.lock(self.lock_key, timeout=self.lock_timeout, sleep=STANDBY_POLL_SECONDS)
        # RedBeat's extend sets the expiry to the timeout (redis-py's would add to what is left).
        lock.lua_extend = client.register_script(redbeat.LUA_EXTEND_TO_SCRIPT)
        return lock

    def _hold_lock(self) -> bool:
        """True if this beat holds the lock after this call (extended or newly taken)."""
        if self.lock is None:
            self.lock = self._new_lock()
        if self.holding:
            try:
                self.lock.extend(int(self.lock_timeout))
                return True
            except LockError:  # LockNotOwnedError: the key expired, was flushed or taken over
                log.warning("beat: lost the beat lock (Redis lost it or it expired); trying to take it again")
                self.holding = False
        if self.lock.acquire(blocking=False):
            self.holding = True
            log.info("beat: Acquired lock")
            return True
        return False

    # --- loop ---------------------------------------------------------------
    def tick(self, min: Any = min, **kwargs: Any) -> float:
        try:
            if self.lock_key and not self._hold_lock():
                return STANDBY_POLL_SECONDS
            self._ensure_schedule()
            self._check_broker_data()
            interval = self._send_due(min)
        except redis.RedisError as exc:
            log.warning("beat: Redis unavailable (%s); retrying in %.0f s", exc, REDIS_RETRY_SECONDS)
            return REDIS_RETRY_SECONDS
        # Extend well within the timeout, whatever the next entry's due time.
        return min(interval, self.lock_timeout / 3) if self.lock_key else interval

    def _send_due(self, min: Any) -> float:
        remaining: list[float] = []
        try:
            for entry in self.schedule.values():
                next_time_to_run = self.maybe_due(entry, **self._maybe_due_kwargs)
                if next_time_to_run:
                    remaining.append(next_time_to_run)
        except RuntimeError:  # as RedBeat: the schedule changed while iterating
            log.debug("beat: RuntimeError", exc_info=True)
        return min(remaining + [self.max_interval])

    def close(self) -> None:
        if self.lock is not None and self.holding:
            try:
                if self.lock.owned():
                    log.info("beat: Releasing lock")
                    self.lock.release()
            except (redis.RedisError, LockError):
                pass  # it expires on its own
        self.lock = None
        self.holding = False
        beat.Scheduler.close(self)
