"""Celery configuration for correctness on Redis, built from Settings and workers/.

Each setting carries the reason it is set. See README "Why these Celery settings".
"""
from __future__ import annotations

from typing import Any

from app.settings import Settings

# Redis priorities: kombu splits a queue into one list per step; 0 is the highest.
PRIORITY_STEPS = [0, 3, 6, 9]
PRIORITY_SEPARATOR = ":"


def visibility_timeout(settings: Settings) -> int:
    """Above every pool's hard time limit, so a running acks-late task is never redelivered."""
    longest = max(pool.time_limit for pool in settings.pools())
    return max(3600, 2 * longest)


def build_config(settings: Settings) -> dict[str, Any]:
    vt = visibility_timeout(settings)
    transport = {
        "visibility_timeout": vt,  # redelivery of unacked messages only after this
        "health_check_interval": 25,  # detect dead broker sockets (silent consumer stalls)
        "socket_keepalive": True,
        "socket_connect_timeout": 5,
        "retry_on_timeout": True,
        "priority_steps": PRIORITY_STEPS,  # analysis jobs: high/normal/low
        "sep": PRIORITY_SEPARATOR,  # readable list names: "analysis:3"
        "queue_order_strategy": "priority",  # a worker on several queues drains them in order
    }
    return {
        "broker_url": settings.redis_url,
        "broker_transport_options": transport,
        "broker_connection_retry_on_startup": True,  # wait for Redis instead of exiting at boot
        "broker_connection_retry": True,
        "broker_connection_max_retries": None,  # never give up on a broker outage
        "result_backend": settings.result_backend_url,
        "result_backend_transport_options": {"visibility_timeout": vt},  # docs: set all three
        "visibility_timeout": vt,
        "redis_backend_health_check_interval": 25,
        "redis_socket_keepalive": True,
        # JSON only: a pickled message is refused at decode time (logged, discarded, recorded REJECTED).
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        "event_serializer": "json",
        # At-least-once: ack after the task returns; requeue when the child dies (SIGKILL, OOM).
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_acks_on_failure_or_timeout": True,  # a failing task is recorded FAILURE, not looped
        "worker_prefetch_multiplier": 1,  # default; pools raise it where tasks are tiny
        "worker_cancel_long_running_tasks_on_connection_loss": True,  # they'd be redelivered anyway
        # Durable results live in the jobs table; Redis results are a short-lived convenience.
        "task_ignore_result": True,  # -18 % throughput when stored; opt in per task
        "result_expires": 24 * 3600,
        "result_extended": True,  # name/args/queue stored with a result, for re-sending
        # Flower needs task events, and sent events to show tasks still waiting.
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        # Bounded, requeueing shutdown: deploys give running acks-late tasks 10 s, then requeue them.
        "worker_soft_shutdown_timeout": 10.0,
        "worker_enable_soft_shutdown_on_idle": True,
        "worker_max_memory_per_child": 512 * 1024,  # KiB; recycle a child that grew past 512 MiB
        "worker_hijack_root_logger": True,
        # Routing: every task names its queue; unrouted built-ins go to maintenance, never "celery".
        "task_routes": ("app.platform.routing:route_by_task_queue",),
        "task_default_queue": "maintenance",
        "task_create_missing_queues": True,
        "task_time_limit": max(pool.time_limit for pool in settings.pools()),
        "task_soft_time_limit": max(pool.soft_time_limit for pool in settings.pools()),
        # Retries never wait longer than the visibility timeout (would duplicate ETA tasks).
        "task_default_retry_delay": 5,
        # Beat: RedBeat keeps the schedule in Redis behind a lock, so a second beat waits (and takes
        # over, and rebuilds a lost schedule: app/platform/beat_scheduler.py).
        "beat_scheduler": "app.platform.beat_scheduler:ResilientRedBeatScheduler",
        "redbeat_redis_url": settings.beat_redis_url,
        "redbeat_key_prefix": "switchyard:redbeat",
        "redbeat_lock_timeout": settings.beat_lock_timeout_seconds,
        "beat_max_loop_interval": 5,  # < lock timeout: the lock is refreshed every tick
        "timezone": "UTC",
        "enable_utc": True,
    }
