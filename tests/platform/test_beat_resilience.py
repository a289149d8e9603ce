"""Beat outlives Redis: FLUSHALL and a Redis restart don't end it (the schedule is written
again), and a standby beat takes over within the lock timeout when the active one dies.
A private redis-server per test: these tests flush and kill it."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, TEST_ENV
from tests.private_services import PrivateRedis
from tests.support import stop_process, wait_until
from workers.pools import QUEUES

LOCK_TIMEOUT = 6
STATICS_KEY = "switchyard:redbeat:statics"


@pytest.fixture
def redis_server(tmp_path):
    server = PrivateRedis(tmp_path / "redis").start()
    yield server
    server.stop()


def start_beat(redis_server: PrivateRedis, log_path: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, **TEST_ENV, "REDIS_URL": redis_server.url(0), "RESULT_BACKEND_URL": redis_server.url(1),
           "CANARY_INTERVAL_SECONDS": "1", "FARCASTER_BEAT_ENABLED": "false",
           "BEAT_LOCK_TIMEOUT_SECONDS": str(LOCK_TIMEOUT)}
    return subprocess.Popen([sys.executable, "-m", "celery", "-A", "app", "beat", "--loglevel", "INFO"],
                            cwd=ROOT, env=env, stdout=log_path.open("wb"), stderr=subprocess.STDOUT)


def canaries_waiting(redis_server: PrivateRedis) -> int:
    try:
        return sum(b"canary.maintenance" in m for m in redis_server.client().lrange("maintenance", 0, -1))
    except Exception:  # noqa: BLE001 - Redis is down for part of the test
        return 0


def resend_requested(redis_server: PrivateRedis) -> bool:
    return any(b"maintenance.resend_lost" in message for message in redis_server.client().lrange("maintenance", 0, -1))


def alive(beat: subprocess.Popen[bytes], log_path: Path) -> None:
    assert beat.poll() is None, f"beat exited (rc={beat.returncode}):\n{log_path.read_text()[-3000:]}"


def test_beat_survives_flushall_and_a_redis_restart(redis_server, tmp_path):
    log_path = tmp_path / "beat.log"
    beat = start_beat(redis_server, log_path)
    try:
        wait_until(lambda: canaries_waiting(redis_server) >= 1, timeout=60, message="beat to send a canary")

        redis_server.client().flushall()
        wait_until(lambda: resend_requested(redis_server), timeout=30,
                   message="beat to ask for the lost messages to be sent again")
        bindings = [f"_kombu.binding.{queue}" for queue in QUEUES]
        wait_until(lambda: redis_server.client().exists(STATICS_KEY) and canaries_waiting(redis_server) >= 1
                   and redis_server.client().exists(*bindings) == len(bindings),
                   timeout=30, message="schedule, queue bindings and canaries back after FLUSHALL")
        alive(beat, log_path)

        redis_server.restart()  # SIGKILL without persistence: every key is gone, every socket cut
        wait_until(lambda: canaries_waiting(redis_server) >= 1, timeout=30,
                   message="canaries to flow after the Redis restart")
        alive(beat, log_path)
        log = log_path.read_text()
        assert "lost the beat lock" in log and "writing it again" in log, log[-3000:]
    finally:
        stop_process(beat, 15)


def test_standby_beat_takes_over_within_the_lock_timeout(redis_server, tmp_path):
    logs = [tmp_path / "beat-a.log", tmp_path / "beat-b.log"]
    first = start_beat(redis_server, logs[0])
    beats = [first]
    try:
        wait_until(lambda: "Acquired lock" in logs[0].read_text(), timeout=60, message="the first beat's lock")
        second = start_beat(redis_server, logs[1])
        beats.append(second)
        wait_until(lambda: "beat: Starting" in logs[1].read_text(), timeout=60, message="the standby to start")
        sent = canaries_waiting(redis_server)
        wait_until(lambda: canaries_waiting(redis_server) >= sent + 3, timeout=30, message="three more canaries")
        assert "Acquired lock" not in logs[1].read_text(), "both beats held the lock"
        alive(second, logs[1])

        first.send_signal(signal.SIGKILL)  # no release: the lock has to expire
        first.wait(10)
        killed_at = time.monotonic()
        # Lock timeout, plus one standby poll, plus start-up noise on a loaded machine.
        wait_until(lambda: "Acquired lock" in logs[1].read_text(), timeout=LOCK_TIMEOUT + 4,
                   message="the standby beat to take the lock")
        took_over = time.monotonic() - killed_at
        sent = canaries_waiting(redis_server)
        wait_until(lambda: canaries_waiting(redis_server) > sent, timeout=10, message="the standby to send canaries")
        print(f"standby took over {took_over:.1f} s after the active beat was killed (lock timeout {LOCK_TIMEOUT} s)")
    finally:
        for beat in beats:
            stop_process(beat, 15)
