"""Job-history rows and broker messages made directly, for query and action tests."""
from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from app.db import get_engine
from app.platform.jobs.models import Job


def job_row(**fields: Any) -> str:
    """Insert one jobs row (defaults: a FAILURE of maintenance.fail); returns its id."""
    now = datetime.now(timezone.utc)
    values = {"id": str(uuid.uuid4()), "name": "maintenance.fail", "queue": "maintenance", "state": "FAILURE",
              "args": ["drill"], "kwargs": {}, "attempts": 1, "created_at": now, "updated_at": now, **fields}
    with get_engine().begin() as conn:
        conn.execute(Job.__table__.insert().values(**values))
    return values["id"]


def ago(**delta: float) -> datetime:
    return datetime.now(timezone.utc) - timedelta(**delta)


def kombu_message(task: str, args: list, kwargs: dict, *, job_id: str | None = None,
                  content_type: str = "application/json") -> bytes:
    """A message as kombu's Redis transport stores it."""
    job_id = job_id or str(uuid.uuid4())
    body = base64.b64encode(json.dumps([args, kwargs, {}]).encode()).decode()
    return json.dumps({
        "body": body, "content-encoding": "utf-8", "content-type": content_type,
        "headers": {"lang": "py", "task": task, "id": job_id, "eta": None, "retries": 0},
        "properties": {"delivery_info": {"exchange": "", "routing_key": "maintenance"}, "priority": 0,
                       "body_encoding": "base64", "delivery_tag": str(uuid.uuid4())},
    }).encode()
