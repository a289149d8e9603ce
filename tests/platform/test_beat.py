"""Beat: a second beat started by mistake must not double-fire schedules (RedBeat's lock)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

from sqlalchemy import text

from app.db import get_engine
from tests.conftest import ROOT, TEST_ENV
from tests.support import stop_process, wait_until


def start_beat(log_path, extra_env):
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "app", "beat", "--loglevel", "INFO"],
        cwd=ROOT, env={**os.environ, **TEST_ENV, **extra_env},
        stdout=log_path.open("wb"), stderr=subprocess.STDOUT,
    )


def publish_times(name: str) -> list[float]:
    with get_engine().connect() as conn:
        rows = conn.execute(text("SELECT extract(epoch FROM created_at) FROM jobs WHERE name = :n ORDER BY 1"),
                            {"n": name})
        return [float(r[0]) for r in rows]


def test_second_beat_waits_for_the_lock_and_nothing_fires_twice(db, redis_client, tmp_path):
    redis_client.delete(*redis_client.keys("switchyard:redbeat*") or ["-"])
    env = {"CANARY_INTERVAL_SECONDS": "1", "BEAT_LOCK_TIMEOUT_SECONDS": "30"}
    first = start_beat(tmp_path / "beat1.log", env)
    beats = [first]
    try:
        wait_until(lambda: len(publish_times("canary.maintenance")) >= 1, timeout=30, message="the first beat to fire")
        second = start_beat(tmp_path / "beat2.log", env)
        beats.append(second)
        already = len(publish_times("canary.maintenance"))
        # Let both run for several intervals (bounded by a count, not a sleep).
        wait_until(lambda: len(publish_times("canary.maintenance")) >= already + 5, timeout=30,
                   message="five more canary intervals")
        assert second.poll() is None, "the standby beat should wait, not exit"
        times = publish_times("canary.maintenance")
        gaps = [b - a for a, b in zip(times, times[1:])]
        assert min(gaps) > 0.5, f"a schedule fired twice within {min(gaps):.3f}s: {gaps}"
    finally:
        for beat in beats:
            beat.send_signal(signal.SIGTERM)  # both at once: neither takes over the other's lock
        for beat in beats:
            stop_process(beat, 15)
