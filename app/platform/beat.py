"""Periodic tasks run by the single beat process (RedBeat-locked): every pipeline's entries."""
from __future__ import annotations

from typing import Any

from app import pipelines as registry
from app.platform.pipeline import BeatEntries, Pipeline


def build_schedule(settings: Any, pipelines: tuple[Pipeline, ...] | None = None) -> BeatEntries:
    schedule: BeatEntries = {}
    for pipeline in registry.PIPELINES if pipelines is None else pipelines:
        entries = pipeline.beat_entries(settings)
        clash = set(schedule) & set(entries)
        if clash:
            raise ValueError(f"pipeline {pipeline.name} repeats beat entries {sorted(clash)}")
        schedule.update(entries)
    return schedule
