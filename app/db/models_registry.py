"""Imports every model module (the platform's, the dashboard's, each pipeline's) so
Base.metadata is complete (Alembic autogenerate, tests)."""
from __future__ import annotations

import importlib

from app import pipelines as registry
from app.dashboard import models as _dashboard  # noqa: F401
from app.db.base import Base
from app.platform import schedules as _schedules  # noqa: F401  - beat_switches
from app.platform.jobs import models as _jobs  # noqa: F401

for _module in (m for pipeline in registry.PIPELINES for m in pipeline.models):
    importlib.import_module(_module)

metadata = Base.metadata
