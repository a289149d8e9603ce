"""Adding a pipeline is one folder under app/, one module under tasks/ and one line in app/pipelines.py.

The test does exactly that in a copy of the code (never in the checkout other tests run from)
and asks the copy's Celery app, deployment files, beat schedule, CLI and models registry.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

TOY_WIRING = '''
from datetime import timedelta

from pydantic_settings import BaseSettings

from app.platform.pipeline import Pipeline
from app.platform.pool import Pool


class ToySettings(BaseSettings):
    toy_greeting: str = "hello"


def beat_entries(settings):
    return {"toy-ping": {"task": "toy.ping", "schedule": timedelta(seconds=30)}}


PIPELINE = Pipeline(
    name="toy",
    task_modules=("tasks.toy",),
    pools=(Pool("toy", ("toy",), concurrency=1, prefetch_multiplier=1, soft_time_limit=9, time_limit=10,
                max_tasks_per_child=10, description="Toy: answers pings"),),
    settings=ToySettings,
    beat=beat_entries,
    cli=("app.toy.cli:register",),
    models=("app.toy.models",),
)
'''

TOY_CLI = '''
def register(subparsers):
    p = subparsers.add_parser("toy", help="the toy pipeline")
    p.set_defaults(func=lambda args: print("toy says", __import__("app.settings").settings.get_settings().toy_greeting))
'''

TOY_MODELS = '''
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base


class ToyThing(Base):
    __tablename__ = "toy_things"

    id: Mapped[int] = mapped_column(primary_key=True)
'''

TOY_TASKS = '''
from app.platform.celery_app import celery


@celery.task(name="toy.ping", queue_name="toy")
def ping() -> str:
    return "pong"
'''

PROBE = '''
import json, subprocess, sys

import app
from app.cli.main import build_parser
from app.db.models_registry import metadata
from app.platform.routing import route_by_task_queue
from workers import render

celery = app.celery
route = route_by_task_queue("toy.ping", (), {}, {})
print(json.dumps({
    "app_file": app.__file__,
    "registered": "toy.ping" in celery.tasks and "canary.toy" in celery.tasks,
    "route": route,
    "procfile": render.procfile(),
    "compose": render.compose(),
    "beat": sorted(celery.conf.beat_schedule),
    "cli": sorted(build_parser()._subparsers._group_actions[0].choices),
    "tables": sorted(metadata.tables),
}))
'''


def _copy_code(dest: Path) -> None:
    for name in ("app", "tasks", "workers", "simulators"):
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("README.md", "Procfile", "compose.yaml"):
        shutil.copy(ROOT / name, dest / name)


def test_a_toy_pipeline_added_in_one_folder_one_task_module_and_one_line(tmp_path):
    _copy_code(tmp_path)
    toy = tmp_path / "app" / "toy"
    toy.mkdir()
    (toy / "__init__.py").write_text('"""A toy pipeline."""\n')
    (toy / "wiring.py").write_text(TOY_WIRING)
    (toy / "cli.py").write_text(TOY_CLI)
    (toy / "models.py").write_text(TOY_MODELS)
    (tmp_path / "tasks" / "toy.py").write_text(TOY_TASKS)
    pipelines = tmp_path / "app" / "pipelines.py"
    source = pipelines.read_text()
    entry, declaration = "    ANALYSIS,\n", "from app.platform.pipeline import Pipeline\n"
    assert entry in source and declaration in source
    pipelines.write_text(source.replace(entry, entry + "    TOY,\n")
                         .replace(declaration, declaration + "from app.toy.wiring import PIPELINE as TOY\n"))

    env = {**os.environ, "PYTHONPATH": str(tmp_path), "TOY_GREETING": "ahoy",
           "CANARY_INTERVAL_SECONDS": "60"}
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["app_file"].startswith(str(tmp_path))  # the copy ran, not the checkout
    assert seen["registered"] and seen["route"] == {"queue": "toy"}
    assert "toy: switchyard worker toy" in seen["procfile"].splitlines()
    assert "  toy:\n    <<: *switchyard\n    command: switchyard worker toy\n" in seen["compose"]
    assert {"toy-ping", "canary-toy"} <= set(seen["beat"])
    assert {"toy", "farcaster", "status"} <= set(seen["cli"])
    assert "toy_things" in seen["tables"]

    cli = subprocess.run([sys.executable, "-m", "app.cli.main", "toy"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0 and cli.stdout.strip() == "toy says ahoy", cli.stderr
    worker = subprocess.run([sys.executable, "-m", "app.cli.main", "worker", "toy", "--print"], cwd=tmp_path,
                            env={**env, "TOY_TIME_LIMIT": "20"}, capture_output=True, text=True, timeout=120)
    assert "--queues toy" in worker.stdout and "--time-limit 20" in worker.stdout, worker.stderr
