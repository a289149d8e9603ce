"""Routing sends every task to a pool's queue; the Celery configuration is Redis-safe."""
from __future__ import annotations

from app.platform.celeryconfig import build_config, visibility_timeout
from app.settings import get_settings, load_settings
from workers.pools import QUEUES


def project_tasks(celery_app):
    return {name: task for name, task in celery_app.tasks.items() if not name.startswith("celery.")}


def test_every_task_routes_to_a_queue_a_pool_consumes(celery_app):
    tasks = project_tasks(celery_app)
    assert tasks, "no tasks registered"
    router = celery_app.amqp.router
    for name in tasks:
        queue = router.route({}, name, (), {})["queue"].name
        assert queue in QUEUES, f"{name} routes to {queue!r}, which no pool consumes"
        assert queue == tasks[name].queue_name


def test_explicit_queue_wins_and_builtins_go_to_maintenance(celery_app):
    router = celery_app.amqp.router
    assert router.route({"queue": "analysis"}, "canary.backfill", (), {})["queue"].name == "analysis"
    assert router.route({}, "celery.backend_cleanup", (), {})["queue"].name == "maintenance"


def test_visibility_timeout_exceeds_every_hard_time_limit(monkeypatch):
    monkeypatch.setenv("BACKFILL_TIME_LIMIT", "5000")
    settings = load_settings()
    vt = visibility_timeout(settings)
    assert all(vt > pool.time_limit for pool in settings.pools())
    config = build_config(settings)
    assert config["broker_transport_options"]["visibility_timeout"] == vt
    assert config["result_backend_transport_options"]["visibility_timeout"] == vt


def test_correctness_settings():
    config = build_config(get_settings())
    assert config["accept_content"] == ["json"] and config["task_serializer"] == "json"
    assert config["result_accept_content"] == ["json"] and config["result_serializer"] == "json"
    assert config["task_acks_late"] and config["task_reject_on_worker_lost"]
    assert config["worker_send_task_events"] and config["task_send_sent_event"]
    assert config["broker_connection_retry_on_startup"]
    assert config["broker_transport_options"]["health_check_interval"] > 0
    assert config["worker_soft_shutdown_timeout"] > 0
    assert config["result_expires"] > 0
    assert config["beat_scheduler"] == "app.platform.beat_scheduler:ResilientRedBeatScheduler"
    assert config["beat_max_loop_interval"] < config["redbeat_lock_timeout"]


def test_sending_by_name_does_not_subscribe_to_results_nobody_stores(database, redis_client, celery_app):
    # Otherwise every send_task from a long-running producer leaks a pub/sub subscription.
    assert celery_app.send_task("canary.maintenance").ignored is True
    assert celery_app.send_task("canary.maintenance", ignore_result=False).ignored is False


def test_default_priority_applies_only_when_the_sender_gives_none(celery_app):
    router = celery_app.amqp.router
    assert router.route({}, "analysis.analyze", (), {})["priority"] == 3
    assert router.route({"priority": 0}, "analysis.analyze", (), {})["priority"] == 0
    assert "priority" not in router.route({}, "canary.analysis", (), {})
