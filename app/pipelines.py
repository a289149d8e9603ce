"""Every pipeline, one line each: the list the Celery app, CLI, beat, metrics, models,
deployment files and local run iterate. Adding a pipeline: a folder app/<name>/ with a
wiring.py declaring ``PIPELINE``, a task module under tasks/, and a line here."""
from __future__ import annotations

from app.analysis.wiring import PIPELINE as ANALYSIS
from app.catalogue.wiring import PIPELINE as CATALOGUE
from app.farcaster.wiring import PIPELINE as FARCASTER
from app.platform.housekeeping import PLATFORM
from app.platform.pipeline import Pipeline

PIPELINES: tuple[Pipeline, ...] = (
    FARCASTER,
    CATALOGUE,
    ANALYSIS,
    PLATFORM,  # housekeeping: the maintenance pool, job retention, canaries (last: its pool renders last)
)


def task_modules(pipelines: tuple[Pipeline, ...] = PIPELINES) -> list[str]:
    return [module for pipeline in pipelines for module in pipeline.task_modules]
