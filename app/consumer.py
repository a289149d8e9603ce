"""A worker consumer that also records messages it refuses to decode.

Celery already logs and acks an undecodable message (for example a pickled one
on our JSON-only workers) so it cannot loop; this adds a REJECTED row to the
jobs table so operators see it in the job history, not only in a log line.
"""
from __future__ import annotations

import logging
from typing import Any

from celery.worker.consumer import Consumer

from app.jobs import recorder

log = logging.getLogger(__name__)


class RecordingConsumer(Consumer):
    def on_decode_error(self, message: Any, exc: Exception) -> None:
        super().on_decode_error(message, exc)
        headers = getattr(message, "headers", None) or {}
        try:
            recorder.record_rejected(
                job_id=str(headers.get("id") or f"undecodable-{id(message)}"),
                name=str(headers.get("task") or "?"),
                queue=(message.delivery_info or {}).get("routing_key"),
                error=f"{type(exc).__name__}: {exc} (content type {message.content_type!r})",
            )
        except Exception:  # noqa: BLE001 - the message is already acked; history is best-effort
            log.exception("jobs table: could not record a rejected message")
