"""The messages waiting in a queue's Redis lists, in the order workers will take them.

kombu keeps one list per priority step (``queue``, ``queue:3``, ...); it LPUSHes
and workers BRPOP the highest-priority list first, so the next message to run is
the tail of the first non-empty list. A page is read with one LRANGE per list it
spans, never the whole queue.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis
from sqlalchemy import select

from app.platform.celeryconfig import PRIORITY_STEPS
from app.db import get_engine
from app.platform.jobs.models import Job
from app.platform.queues import priority_list_key

jobs = Job.__table__


@dataclass
class WaitingMessage:
    position: int  # 0 is the next to run
    priority: int  # the priority step list it waits in
    id: str | None
    task: str | None
    args: Any
    kwargs: Any
    eta: str | None
    retries: int | None
    content_type: str | None
    enqueued_at: datetime | None = None  # from the jobs table (messages carry no send time)
    error: str | None = None  # why the body could not be shown


def decode(raw: bytes, position: int, priority: int) -> WaitingMessage:
    """One kombu message as stored by the Redis transport (a JSON envelope, body base64)."""
    try:
        envelope = json.loads(raw)
        headers = envelope.get("headers") or {}
        message = WaitingMessage(position, priority, headers.get("id"), headers.get("task"), None, None,
                                 headers.get("eta"), headers.get("retries"), envelope.get("content-type"))
    except (ValueError, AttributeError) as exc:
        return WaitingMessage(position, priority, None, None, None, None, None, None, None,
                              error=f"not a kombu message: {exc}")
    if message.content_type != "application/json":
        message.error = f"body not shown ({message.content_type})"  # e.g. pickle: never decoded here
        return message
    try:
        body = envelope["body"]
        if (envelope.get("properties") or {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        decoded = json.loads(body)
        message.args, message.kwargs = decoded[0], decoded[1]
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        message.error = f"undecodable body: {exc}"
    return message


def read_page(client: redis.Redis, queue: str, offset: int, limit: int) -> tuple[list[WaitingMessage], int]:
    """Messages [offset, offset + limit) in run order, and the total waiting."""
    keys = [priority_list_key(queue, step) for step in PRIORITY_STEPS]
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.llen(key)
    lengths = pipe.execute()
    total = sum(lengths)
    pipe = client.pipeline(transaction=False)
    spans = []  # (step, index in the run order of the list's first message read)
    start = 0  # run-order position of the current list's first message
    for step, key, length in zip(PRIORITY_STEPS, keys, lengths):
        first, last = max(offset, start), min(offset + limit, start + length)
        if first < last:
            # Run order counts from the tail: position p in this list is index -(p + 1).
            pipe.lrange(key, -(last - start), -(first - start) - 1)
            spans.append((step, first))
        start += length
    messages = []
    for (step, first), raws in zip(spans, pipe.execute() if spans else []):
        for i, raw in enumerate(reversed(raws)):
            messages.append(decode(raw, first + i, step))
    _add_enqueued_at(messages)
    return messages, total


def _add_enqueued_at(messages: list[WaitingMessage]) -> None:
    ids = [m.id for m in messages if m.id]
    if not ids:
        return
    with get_engine().connect() as conn:
        created = dict(conn.execute(select(jobs.c.id, jobs.c.created_at).where(jobs.c.id.in_(ids))).all())
    for message in messages:
        message.enqueued_at = created.get(message.id)


def remove(client: redis.Redis, queue: str, job_id: str, chunk: int = 1000) -> bool:
    """Take one waiting message out of the queue by its task id (scans the lists; LREM by value)."""
    for step in PRIORITY_STEPS:
        key = priority_list_key(queue, step)
        start = 0
        while True:
            raws: list[bytes] = client.lrange(key, start, start + chunk - 1)  # type: ignore[assignment]
            for raw in raws:
                if job_id.encode() in raw and decode(raw, 0, step).id == job_id:
                    return bool(client.lrem(key, 1, raw))  # type: ignore[arg-type]  # bytes are fine
            if len(raws) < chunk:
                break
            start += chunk
    return False
