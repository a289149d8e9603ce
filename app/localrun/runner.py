"""`switchyard up`: run the whole system locally until Ctrl-C."""
from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

from honcho import manager as honcho_manager
from honcho.manager import Manager
from honcho.printer import Printer

from app.farcaster.demo import read_api_example
from app.localrun.demos import demo_processes, seeders
from app.localrun.services import PrivateService, ServiceUnavailable, ensure_postgres, ensure_redis
from app.localrun.supervisor import Supervisor
from app.localrun.watchdog import watch_consumption
from app.settings import get_settings

ROOT = Path(__file__).resolve().parents[2]

# Celery's soft shutdown takes up to 10 s: give workers that long before SIGKILL.
honcho_manager.KILL_WAIT = 15


def _say(message: str) -> None:
    print(f"switchyard | {message}", flush=True)


def _announce_when_ready(manager: Manager, pool_names: list[str], run_demos: bool) -> None:
    """Wait (bounded) for every pool to answer ping, then print the URLs and seed demo workloads."""
    from app.platform.celery_app import celery

    settings = get_settings()
    deadline = time.monotonic() + 120
    waiting = set(pool_names)
    while waiting and time.monotonic() < deadline and not manager._terminating:
        replies = celery.control.ping(timeout=1.0) or []
        for reply in replies:
            for node in reply:
                waiting.discard(node.split("@", 1)[0])
    if manager._terminating:
        return
    if waiting:
        _say(f"WARNING: pools not answering after 120 s: {', '.join(sorted(waiting))}")
    host = "127.0.0.1" if settings.flower_address in ("0.0.0.0", "") else settings.flower_address
    _say(f"Flower dashboard: http://{host}:{settings.flower_port}/")
    api_host = "127.0.0.1" if settings.analysis_api_host in ("0.0.0.0", "") else settings.analysis_api_host
    _say(read_api_example(api_host, settings.analysis_api_port))
    _say(f"every pool is up ({len(pool_names) - len(waiting)}/{len(pool_names)}); a process that dies is "
         "restarted; Ctrl-C stops everything")
    if run_demos:
        for seed in seeders():
            try:
                _say(f"demo: {seed()}")
            except Exception as exc:  # noqa: BLE001 - a failed demo must not stop the system
                _say(f"demo {seed.__name__} failed: {exc}")


def run(*, demos: bool = True) -> int:
    from app.db.migrate import ensure_database, upgrade
    from workers import render
    from workers.pools import POOLS

    if demos:
        # Demo settings apply to this process too (the seeders), not only to the children.
        for process in demo_processes():
            os.environ.update(process.env)
        get_settings.cache_clear()
    settings = get_settings()
    var_dir = ROOT / "var"
    var_dir.mkdir(exist_ok=True)
    private: list[PrivateService] = []
    try:
        try:
            for service in (ensure_redis(settings.redis_url, var_dir),
                            ensure_postgres(settings.database_url, var_dir)):
                if service:
                    private.append(service)
                    _say("started " + "; ".join(service.notes))
        except ServiceUnavailable as exc:
            _say(f"cannot start: {exc}")
            return 1
        if ensure_database():
            _say("created the database")
        upgrade()
        _say("database schema is up to date")

        env = dict(os.environ)
        # Commands in the Procfile (`switchyard`, `celery`) come from this interpreter's environment.
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        manager = Supervisor(Printer(sys.stdout))
        if demos:
            for process in demo_processes():
                manager.add_process(process.name, process.command, env=env, cwd=str(ROOT))
        for name, command in render.processes():
            manager.add_process(name, command, env=env, cwd=str(ROOT))
        threading.Thread(
            target=_announce_when_ready, args=(manager, [p.name for p in POOLS], demos), daemon=True
        ).start()
        if settings.consumption_stall_seconds > 0:
            watch_consumption(manager.restart, lambda: manager.terminating,
                              stall_after=settings.consumption_stall_seconds,
                              interval=min(15.0, settings.consumption_stall_seconds / 4))
        manager.loop()
        return manager.returncode or 0
    finally:
        for service in reversed(private):
            service.stop()
            _say(f"stopped private {service.name}")
