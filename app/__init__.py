"""Switchyard: the Celery app, settings, database models, clients and domain logic.

``celery -A app`` finds the Celery application as ``app.celery``. It is loaded
lazily so domain modules (``app.catalogue``, ...) import without Celery.
"""
from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "celery":
        from app.platform.celery_app import celery

        return celery
    raise AttributeError(f"module 'app' has no attribute {name!r}")
