"""What every pipeline's services are built from: settings, the database, a way to send tasks."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from app.settings import Settings


@dataclass(frozen=True)
class Resources:
    settings: Settings
    engine: Engine
    # Sends a task by name (Celery's send_task): domain code never imports the task modules.
    send_task: Callable[..., Any]


def _send_task(name: str, *args: Any, **options: Any) -> Any:
    from app.platform.celery_app import celery

    return celery.send_task(name, *args, **options)


def shared_resources() -> Resources:
    """This process's resources (each one cached where it is made: settings, engine, Celery app)."""
    from app.db import get_engine
    from app.settings import get_settings

    return Resources(settings=get_settings(), engine=get_engine(), send_task=_send_task)
