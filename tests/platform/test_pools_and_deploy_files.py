"""workers/pools.py is the one source: Procfile, compose.yaml and worker commands follow it."""
from __future__ import annotations

import yaml

from workers import render
from workers.command import worker_argv
from workers.pools import POOLS, QUEUES

REQUIRED_QUEUES = {"backfill", "realtime", "events", "supplier-sync", "product-family", "image-upload", "analysis"}


def test_every_required_queue_has_exactly_one_pool():
    assert REQUIRED_QUEUES <= set(QUEUES)
    assert len(QUEUES) == len(set(QUEUES)), "a queue consumed by two pools"
    for pool in POOLS:
        assert pool.soft_time_limit < pool.time_limit
        # Only prefork enforces time limits; threads only where every call carries its own timeout.
        assert pool.pool_type == ("threads" if pool.name == "image-upload" else "prefork"), pool


def test_committed_procfile_and_compose_match_the_pool_definitions():
    assert render.drifted() == [], "run `switchyard render` and commit the result"


def test_procfile_has_beat_flower_and_one_process_per_pool():
    entries = dict(line.split(": ", 1) for line in render.procfile().splitlines() if not line.startswith("#"))
    assert entries["beat"].startswith("celery -A app beat")
    assert entries["flower"] == "switchyard flower"
    for pool in POOLS:
        assert entries[pool.name] == f"switchyard worker {pool.name}"


def test_compose_structure():
    compose = yaml.safe_load(render.compose())
    services = compose["services"]
    assert {"redis", "postgres", "migrate", "beat", "flower", *[p.name for p in POOLS]} <= set(services)
    for pool in POOLS:
        service = services[pool.name]
        assert service["command"] == f"switchyard worker {pool.name}"
        # scalable with `docker compose up --scale`: no fixed name, no host port
        assert "container_name" not in service and "ports" not in service
        assert service["environment"]["REDIS_URL"] == "redis://redis:6379/0"
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["command"] == "switchyard migrate"
    assert "noeviction" in services["redis"]["command"]
    assert services["flower"]["ports"] == ["${FLOWER_PORT:-5555}:5555"]


def test_worker_command_carries_the_pool_definition():
    pool = next(p for p in POOLS if p.name == "image-upload").with_overrides(concurrency=3)
    argv = worker_argv(pool)
    assert argv[:4] == ["celery", "-A", "app", "worker"]
    flags = dict(zip(argv[4::2], argv[5::2]))
    assert flags["--queues"] == "image-upload"
    assert flags["--hostname"] == "image-upload@%h"
    assert flags["--concurrency"] == "3"
    assert flags["--prefetch-multiplier"] == str(pool.prefetch_multiplier)
    assert flags["--time-limit"] == str(pool.time_limit)
    assert "--task-events" in argv


def test_switchyard_worker_print_applies_env_overrides(monkeypatch, capsys, reread_settings):
    from app.cli.main import main

    monkeypatch.setenv("BACKFILL_CONCURRENCY", "9")
    assert main(["worker", "backfill", "--print"]) == 0
    assert "--concurrency 9" in capsys.readouterr().out
